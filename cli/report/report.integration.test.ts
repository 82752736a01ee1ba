// The sample guest, booted once, seen two ways. Live: `ringside monitor --tui` in a real tmux pane
// during a syscall-table rootkit (the guest and the finding on screen, a resize, `q` leaves a clean
// pane, the --report page written), and `ringside top` showing it beside a replayed trace (two
// guests, no second boot). Then its snapshot report after a hidden process and a process with a
// hostile name, opened in Debian's headless chromium with the network off: the tree, the
// highlighted process linked to its finding, the map marks, the unsigned module, no request made.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { startSampleGuest, type RunningGuest } from '../../lab/guest/launch.js';
import { runScenario } from '../../lab/scenarios/scenarios.js';

const repo = join(import.meta.dirname ?? '.', '..', '..');
const cli = join(repo, 'dist', 'cli', 'main.js');
const CHROMIUM = process.env.RINGSIDE_CHROMIUM ?? '/usr/bin/chromium';
/** Where the screenshot is kept for people to look at (CI keeps the folder). */
const ARTIFACTS = join(repo, 'run', 'artifacts');
const HOSTILE_COMM = '<i id=pwn>';
const GUEST = 'report-it';
/** A tmux server of this test's own (its own socket), so no user's session is touched. */
const TMUX = ['-L', 'ringside-report-it'];
const PANE = 'report-it-tui';

/** The page's elements as the checks use them (the tsconfig has no DOM library; a cast, not a
 *  function: the checks run in the page). */
interface PageElement {
  textContent: string | null;
  className: string;
  parentElement: PageElement | null;
  closest(selector: string): PageElement | null;
  querySelector(selector: string): PageElement | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { height: number };
}

let guest: RunningGuest | undefined;
let syscallHooked = false;
/** Where `monitor --tui --report` writes the session report on exit. */
const sessionDir = mkdtempSync(join(tmpdir(), 'ringside-report-it-session-'));
const sessionReport = join(sessionDir, 'session.html');

beforeAll(async () => {
  guest = await startSampleGuest({ name: GUEST });
}, 300_000);

afterAll(async () => {
  spawnSync('tmux', [...TMUX, 'kill-server']);
  rmSync(sessionDir, { recursive: true, force: true });
  await guest?.stop();
});

const tmux = (...args: string[]) => execFileSync('tmux', [...TMUX, ...args], { encoding: 'utf8' });
const pane = (target = PANE) => tmux('capture-pane', '-p', '-t', target);

/** Polls the pane until `ready` holds; returns the pane then and how long it took (ms). */
async function waitForPane(
  ready: (text: string) => boolean,
  timeoutMs: number,
  what: string,
  target = PANE,
) {
  const start = Date.now();
  for (;;) {
    const text = pane(target);
    if (ready(text)) return { text, ms: Date.now() - start };
    if (Date.now() - start > timeoutMs)
      throw new Error(`the pane did not show ${what} within ${timeoutMs} ms:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('the live terminal view under tmux', () => {
  const started = Date.now();

  it('shows the attached guest and its process tree', async () => {
    const { endpoints } = guest!;
    // Ink draws only a last frame when CI is set: the view is for a person's terminal.
    const command = [
      'env -u CI -u CONTINUOUS_INTEGRATION',
      process.execPath,
      cli,
      'monitor',
      `--plugin-socket ${endpoints.pluginSocket!}`,
      `--ram ${endpoints.ramFile}`,
      `--qmp ${endpoints.qmpSocket}`,
      `--name ${GUEST}`,
      `--rules ${join(repo, 'samples', 'rules', 'linux.yaml')}`,
      `--report ${sessionReport}`,
      '--tui; echo EXIT=$?; sleep 120',
    ].join(' ');
    tmux('new-session', '-d', '-s', PANE, '-x', '110', '-y', '32', command);
    const { text, ms } = await waitForPane(
      (text) => text.includes(`ringside monitor ${GUEST}`) && / 1 +0 init/.test(text),
      60_000,
      'the view',
    );
    process.stderr.write(`monitor --tui drawn ${ms} ms after start\n`);
    expect(text).toMatch(new RegExp(`^${GUEST} +Linux 6\\.1\\.`, 'm'));
    expect(text).toContain('FINDINGS (none yet)');
    expect(tmux('display', '-p', '-t', PANE, '#{alternate_on}').trim()).toBe('1');
  }, 90_000);

  it('shows the finding within seconds of the attack', async () => {
    const control = await guest!.control();
    try {
      await runScenario(control, 'rootkit-syscall-hook', 'run');
      syscallHooked = true;
    } finally {
      control.close();
    }
    // The first of the scenario's findings (exec from /tmp, module load, table write, CR0.WP).
    const finding = /^\d\d:\d\d:\d\d (high|critical|medium) +report-it +lnx-[a-z-]+ /m;
    const { text, ms } = await waitForPane((text) => finding.test(text), 10_000, 'a finding');
    process.stderr.write(`a finding on screen ${ms} ms after the scenario ended\n`);
    expect(text).toMatch(/FINDINGS \(\d+ newest first\)/);
    expect(text).not.toContain('FINDINGS (none yet)');
  }, 90_000);

  it('redraws intact after a resize', async () => {
    tmux('resize-window', '-t', PANE, '-x', '72', '-y', '18');
    const { text } = await waitForPane(
      (text) => text.split('\n').every((line) => line.length <= 72) && text.includes('FINDINGS ('),
      5_000,
      'a redraw at 72 columns',
    );
    // One frame, not the old one under the new: the title once, at the top.
    expect(text.split('\n')[0]).toMatch(new RegExp(`^ringside monitor ${GUEST} `));
    expect(text.split(`ringside monitor ${GUEST}`)).toHaveLength(2);
    expect(text).toContain('lnx-');
    expect(text).toMatch(/PROCESSES 1-\d+ of \d+/);
  });

  it('quits on q, exit 0, the terminal as it was', async () => {
    tmux('send-keys', '-t', PANE, 'q');
    const { text } = await waitForPane((text) => /EXIT=\d+/.test(text), 30_000, 'the exit');
    expect(text).toContain('EXIT=0');
    expect(text).toContain('detached; the guest runs on');
    // Back on the normal screen, cursor shown, nothing of the view left in the pane.
    expect(tmux('display', '-p', '-t', PANE, '#{alternate_on} #{cursor_flag}').trim()).toBe('0 1');
    expect(text).not.toContain(`ringside monitor ${GUEST}`);
    expect(text).not.toContain('FINDINGS');
    // --report: the session page written on exit, with the scenario's findings for this guest.
    expect(text.replace(/\n/g, '')).toContain(`session report in ${sessionReport}`);
    const session = readFileSync(sessionReport, 'utf8');
    expect(session).toMatch(/^<!doctype html>/i);
    expect(session).toMatch(/lnx-[a-z]+-[a-z-]+/);
    expect(session).toContain(GUEST);
    process.stderr.write(`terminal view test: ${Date.now() - started} ms\n`);
  }, 40_000);
});

describe('several guests at once: ringside top under tmux', () => {
  const TOP = 'report-it-top';
  const started = Date.now();

  it('shows the live guest and a replayed trace side by side: rates, findings, both trees', async () => {
    const { endpoints } = guest!;
    const trace = join(repo, 'samples', 'traces', 'exec-from-tmp.ndjson');
    const command = [
      'env -u CI -u CONTINUOUS_INTEGRATION',
      process.execPath,
      cli,
      'top',
      `--guest plugin-socket=${endpoints.pluginSocket!},ram=${endpoints.ramFile},qmp=${endpoints.qmpSocket},name=${GUEST}`,
      `--guest replay=${trace},name=replayed`,
      '; echo EXIT=$?; sleep 120',
    ].join(' ');
    tmux('new-session', '-d', '-s', TOP, '-x', '110', '-y', '32', command);
    const { text, ms } = await waitForPane(
      (text) =>
        text.includes('ringside top (2 guests)') &&
        / 1 +0 init/.test(text) &&
        /^replayed +recorded trace +\d+\.\d +ev\/s 4 +events 2 +findings/m.test(text),
      60_000,
      'both guests',
      TOP,
    );
    process.stderr.write(`top drawn with both guests ${ms} ms after start\n`);
    // The live guest with its kernel and rate; the trace's two findings under its attach name.
    expect(text).toMatch(new RegExp(`^${GUEST} +Linux 6\\.1\\.\\S+ +\\S+ +\\d+\\.\\d +ev/s`, 'm'));
    expect(text).toMatch(/^\d\d:\d\d:\d\d high +replayed +lnx-exec-from-writable-dir +exec of /m);
    expect(text).toMatch(/FINDINGS \(\d+ newest first\)/);
    // `f` scrolls the tree to the next flagged process (whichever guest it is in) until the trace's
    // miner and its payload, at the end of the tree, are both on screen.
    const miner = /^replayed +1202 +1000 +! kworker \/tmp\/\.x\/kworker/m;
    const payload = /^replayed +1203 +1000 +! payload \/dev\/shm\/payload/m;
    let shown = pane(TOP);
    for (let press = 0; press < 8 && !(miner.test(shown) && payload.test(shown)); press++) {
      tmux('send-keys', '-t', TOP, 'f');
      shown = (await waitForPane((text) => text !== shown, 2_000, 'a redraw after f', TOP)).text;
    }
    expect(shown).toMatch(miner);
    expect(shown).toMatch(payload);
  }, 90_000);

  it('quits on q, exit 0, the terminal as it was', async () => {
    tmux('send-keys', '-t', TOP, 'q');
    const { text } = await waitForPane((text) => /EXIT=\d+/.test(text), 30_000, 'the exit', TOP);
    expect(text).toContain('EXIT=0');
    expect(text).toContain(`detached from ${GUEST}, replayed`);
    expect(tmux('display', '-p', '-t', TOP, '#{alternate_on} #{cursor_flag}').trim()).toBe('0 1');
    expect(text).not.toContain('FINDINGS');
    process.stderr.write(`top test: ${Date.now() - started} ms\n`);
  }, 40_000);
});

describe('the snapshot report in chromium', () => {
  let dir: string;
  let report: string;
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];
  let hiddenPid: number;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`no chromium at ${CHROMIUM}: install it (scripts/apt.d/report.list)`);
    dir = mkdtempSync(join(tmpdir(), 'ringside-report-'));
    try {
      const control = await guest!.control();
      // Run under the live view above; again here only if that part did not get to it.
      if (!syscallHooked) await runScenario(control, 'rootkit-syscall-hook', 'run');
      const hidden = await runScenario(control, 'hidden-process', 'run');
      hiddenPid = Number(/hid pid (\d+)/.exec(hidden.output)?.[1]);
      await control.run(
        `sh -c 'printf "${HOSTILE_COMM}" >/proc/self/comm; while :; do sleep 1; done' </dev/null >/dev/null 2>&1 &`,
      );
      await new Promise((resolve) => setTimeout(resolve, 1500));
      control.close();
      await guest!.snapshot(join(dir, 'guest.elf'));
    } finally {
      await guest?.stop();
      guest = undefined;
    }
    report = join(dir, 'report.html');
    const run = spawnSync(
      process.execPath,
      [cli, 'snapshot', 'report', join(dir, 'guest.elf'), '-o', report],
      { encoding: 'utf8' },
    );
    if (run.status !== 0) throw new Error(`snapshot report failed: ${run.stderr}`);
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu'],
    });
    page = await browser.newPage();
    await page.setOfflineMode(true);
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(`file://${report}`, { waitUntil: 'load' });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the process tree with the hostile name as text, not markup', async () => {
    expect(hiddenPid).toBeGreaterThan(1);
    const init = await page.$eval(
      '#proc-1 .comm',
      (element) => (element as unknown as PageElement).textContent,
    );
    expect(init).toBe('init');
    // The hidden process sits under its parent's <details>, not at the top.
    const parent = await page.$eval(
      `#proc-${hiddenPid}`,
      (element) =>
        (element as unknown as PageElement)
          .closest('.kids')
          ?.parentElement?.querySelector('summary .pid')?.textContent,
    );
    expect(Number(parent)).toBeGreaterThan(1);
    expect(await page.$('#pwn')).toBeNull();
    const names = await page.$$eval('.proc .comm', (elements) =>
      elements.map((element) => (element as unknown as PageElement).textContent),
    );
    expect(names).toContain(HOSTILE_COMM);
  });

  it('highlights the hidden process and its link reveals the finding’s evidence', async () => {
    const classes = await page.$eval(
      `#proc-${hiddenPid}`,
      (element) => (element as unknown as PageElement).className,
    );
    expect(classes).toContain('flagged');
    expect(classes).toContain('hidden');
    const link = await page.$(`#proc-${hiddenPid} a.badge`);
    expect(link).not.toBeNull();
    const target = await link!.evaluate((element) =>
      (element as unknown as PageElement).getAttribute('href')!.slice(1),
    );
    const isOpen = () =>
      page.$eval(`#${target}`, (element) => (element as unknown as { open: boolean }).open);
    expect(await isOpen()).toBe(false);
    await link!.click();
    // The tsconfig has no DOM library: the page-side check is given as source.
    await page.waitForFunction(`document.getElementById(${JSON.stringify(target)}).open`);
    expect(await isOpen()).toBe(true);
    const text = await page.$eval(
      `#${target}`,
      (element) => (element as unknown as PageElement).textContent ?? '',
    );
    expect(text).toContain('lnx-hidden-process');
    expect(text).toContain('T1014');
    const visible = await page.$eval(
      `#${target} .finding-body`,
      (element) => (element as unknown as PageElement).getBoundingClientRect().height,
    );
    expect(visible).toBeGreaterThan(0);
  });

  it('marks syscall 217 (into ringside_test) on the map, and nothing else in either map', async () => {
    const marked = await page.$$eval('#syscalls .cell.bad', (cells) =>
      cells.map((cell) => (cell as unknown as PageElement).getAttribute('data-index')),
    );
    expect(marked).toEqual(['217']);
    expect(await page.$$eval('#syscalls .cell', (cells) => cells.length)).toBeGreaterThan(300);
    expect(await page.$$eval('#idt .cell', (cells) => cells.length)).toBeGreaterThan(20);
    // The IDT is clean (vectors left on their early-boot stubs are not marked, as in the check).
    expect(await page.$$eval('#idt .cell.bad', (cells) => cells.length)).toBe(0);
  });

  it('marks the rootkit module as out-of-tree and unsigned, and only it', async () => {
    const flagged = await page.$$eval('#modules tr.flagged', (rows) =>
      rows.map((row) => (row as unknown as PageElement).textContent),
    );
    expect(flagged).toHaveLength(1);
    expect(flagged[0]).toMatch(/^ringside_test0x[0-9a-f]+\d+liveOEunsigned$/);
  });

  it('loaded nothing but itself and keeps a screenshot', async () => {
    expect(requests).toEqual([`file://${report}`]);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'snapshot-report.png'), fullPage: true });
    expect(existsSync(join(ARTIFACTS, 'snapshot-report.png'))).toBe(true);
  });
});
