// The report page from a model: hostile guest strings stay text, findings link to their processes,
// hidden processes sit under their parent, deep or looping parent chains neither overflow nor hang.
import type { Finding } from '../../introspect/events/finding.js';
import { createHash } from 'node:crypto';
import { escapeHtml } from './html.js';
import type { ReportModel, ReportProcess } from './model.js';
import { contentSecurityPolicy, renderReport, renderTree, TREE_MAX_DEPTH } from './render.js';

const HOSTILE = '<img src=x onerror=alert(1)>';

const proc = (pid: number, ppid: number, extra: Partial<ReportProcess> = {}): ReportProcess => ({
  pid,
  ppid,
  uid: 0,
  comm: `p${pid}`,
  start: 1,
  task: `0xffff0000${pid}`,
  kernelThread: false,
  hidden: false,
  missingFrom: [],
  ...extra,
});

const finding: Finding = {
  id: 'abc123',
  timestamp: '2026-12-03T10:00:00.000Z',
  rule: { id: 'lnx-hidden-process', name: 'Hidden process' },
  severity: 'critical',
  message: `hidden process ${HOSTILE}`,
  mitre: [{ id: 'T1014', name: 'Rootkit' }, { id: 'javascript:alert(1)' }],
  host: { name: 'guest' },
  events: [
    {
      type: 'integrity.violation',
      domain: 'guest',
      time: 1,
      timestamp: '2026-12-03T10:00:00.000Z',
      process: { pid: 3, name: HOSTILE },
      vmi: { gva: 0xffffffff81000000n, disassembly: 'jmp <evil>' },
    } as Finding['events'][number],
  ],
};

const model = (processes: ReportProcess[], findings: Finding[] = [finding]): ReportModel => ({
  title: `report of ${HOSTILE}`,
  generated: 'now',
  facts: [['kernel', HOSTILE]],
  processes,
  modules: [
    { name: HOSTILE, base: '0x1', size: 1, state: 'live', taints: 'OE', signature: 'unsigned' },
  ],
  syscalls: [
    { index: 0, target: '0x1', symbol: 'x', location: 'kernel-text', suspicious: false },
    { index: 1, target: '0x2', module: HOSTILE, location: 'module', suspicious: true },
  ],
  idt: [],
  findings,
  warnings: [HOSTILE],
});

describe('renderReport', () => {
  const page = renderReport(
    model([
      proc(1, 0),
      proc(2, 1),
      proc(3, 2, { comm: HOSTILE, hidden: true, missingFrom: ['taskList'] }),
    ]),
  );

  it('never lets a guest string become markup', () => {
    expect(page).not.toContain('<img');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
    // The only scripts are the report's own (one element) and no inline handler appears.
    expect(page.match(/<script/g)).toHaveLength(1);
    // Attribute values are quoted with every `"` inside escaped: drop them, then no tag has a handler.
    const tags = page.replace(/"[^"]*"/g, '""');
    expect(tags.match(/<[^>]*\son[a-z]+=[^>]*/)?.[0]).toBeUndefined();
    expect(page).not.toContain('href="javascript:');
  });

  it('forbids every fetch in its Content-Security-Policy', () => {
    expect(page).toContain(`content="${escapeHtml(contentSecurityPolicy())}"`);
    expect(contentSecurityPolicy()).toMatch(/default-src 'none'/);
    expect(contentSecurityPolicy()).toMatch(/connect-src 'none'/);
    expect(contentSecurityPolicy()).not.toMatch(/unsafe-inline/);
    // The inline style and script are byte for byte what the policy's hashes allow.
    const hash = (text: string) => createHash('sha256').update(text).digest('base64');
    const style = /<style>([\s\S]*?)<\/style>/.exec(page)![1]!;
    const script = /<script>([\s\S]*?)<\/script>/.exec(page)![1]!;
    expect(contentSecurityPolicy()).toContain(`style-src 'sha256-${hash(style)}'`);
    expect(contentSecurityPolicy()).toContain(`script-src 'sha256-${hash(script)}'`);
  });

  it('highlights the process of a finding, links both ways and links ATT&CK', () => {
    expect(page).toMatch(/<span\s+class="proc flagged hidden"\s+id="proc-3"/);
    expect(page).toContain('href="#finding-abc123"');
    expect(page).toContain('href="#proc-3"');
    expect(page).toContain('https://attack.mitre.org/techniques/T1014/');
    expect(page).toContain('hidden: missed by taskList');
    expect(page).toMatch(/<span\s+class="cell bad loc-module"/);
  });
  it('shows the taints and signature verdict of a module, marking a tainted or unsigned one', () => {
    expect(page).toMatch(
      /<tr class="flagged"><td>&lt;img[^<]*<\/td><td><code>0x1<\/code><\/td><td>1<\/td><td>live<\/td><td><code>OE<\/code><\/td><td>unsigned<\/td><\/tr>/,
    );
  });
});

describe('renderTree', () => {
  it('nests children under their parents and keeps tasks of a parent cycle', () => {
    const tree = renderTree([proc(1, 0), proc(2, 1), proc(5, 6), proc(6, 5)], []).text;
    expect(tree.indexOf('id="proc-1"')).toBeLessThan(tree.indexOf('id="proc-2"'));
    expect(tree).toContain('id="proc-5"');
    expect(tree).toContain('id="proc-6"');
  });

  it('caps the nesting of a chain as deep as the list', () => {
    const chain = Array.from({ length: 20_000 }, (_, index) => proc(index + 1, index));
    const tree = renderTree(chain, []).text;
    expect(tree.match(/<details/g)).toHaveLength(TREE_MAX_DEPTH);
    expect(tree.match(/class="proc/g)).toHaveLength(20_000);
    expect(tree.match(/<details/g)!.length).toBe(tree.match(/<\/details>/g)!.length);
  });
});
