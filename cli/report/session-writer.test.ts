// The monitor's session report: written at close with every finding added, and a write that fails
// is a message, not an exception that would take the monitor down.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Finding } from '../../introspect/events/finding.js';
import { createSessionWriter } from './session-writer.js';

const finding: Finding = {
  id: 'f1',
  timestamp: '2026-12-03T10:00:00.000Z',
  rule: { id: 'lnx-kernel-module-loaded', name: 'Module loaded' },
  severity: 'medium',
  message: 'module <b>x</b> loaded',
  mitre: [],
  host: { name: 'g' },
  events: [],
};

describe('createSessionWriter', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ringside-session-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the findings added when closed', () => {
    const writer = createSessionWriter(join(dir, 's.html'), 0, 'g');
    writer.add(finding);
    expect(writer.close()).toBeUndefined();
    const page = readFileSync(join(dir, 's.html'), 'utf8');
    expect(page).toContain('id="finding-f1"');
    expect(page).toContain('module &lt;b&gt;x&lt;/b&gt; loaded');
  });

  it('returns a message when the file cannot be written', () => {
    const writer = createSessionWriter(join(dir, 'missing', 's.html'), 0, 'g');
    expect(writer.close()).toMatch(/missing\/s\.html: cannot write the session report/);
  });
});
