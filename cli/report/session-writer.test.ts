// The monitor's session report: written every interval and at close with every finding added, and a
// write that fails is a message, not an exception that would take the monitor down.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

  it('writes the page every interval while the session runs, with what was added by then', async () => {
    const path = join(dir, 's.html');
    const writer = createSessionWriter(path, 40, 'g');
    try {
      expect(existsSync(path)).toBe(false);
      writer.add(finding);
      const deadline = Date.now() + 5000;
      while (!existsSync(path) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
      // Written by the timer, not by close(): a monitor killed now keeps this page.
      expect(readFileSync(path, 'utf8')).toContain('id="finding-f1"');
      writer.add({ ...finding, id: 'f2' });
      const second = Date.now() + 5000;
      while (!readFileSync(path, 'utf8').includes('id="finding-f2"') && Date.now() < second)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(readFileSync(path, 'utf8')).toContain('id="finding-f2"');
    } finally {
      writer.close();
    }
  });

  it('returns a message when the file cannot be written', () => {
    const writer = createSessionWriter(join(dir, 'missing', 's.html'), 0, 'g');
    expect(writer.close()).toMatch(/missing\/s\.html: cannot write the session report/);
  });
});
