// The snapshot report of the real sample guest after two attacks (a syscall-table hook, a hidden
// process) and a process with a hostile name, opened in Debian's headless chromium with the network
// off: the tree, the highlighted process linked to its finding, the map marks, no request made.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { startSampleGuest } from '../../lab/guest/launch.js';
import { runScenario } from '../../lab/scenarios/scenarios.js';

const repo = join(import.meta.dirname ?? '.', '..', '..');
const cli = join(repo, 'dist', 'cli', 'main.js');
const CHROMIUM = process.env.RINGSIDE_CHROMIUM ?? '/usr/bin/chromium';
/** Where the screenshot is kept for people to look at (CI keeps the folder). */
const ARTIFACTS = join(repo, 'run', 'artifacts');
const HOSTILE_COMM = '<i id=pwn>';

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
  const guest = await startSampleGuest({ name: 'report-it' });
  try {
    const control = await guest.control();
    await runScenario(control, 'rootkit-syscall-hook', 'run');
    const hidden = await runScenario(control, 'hidden-process', 'run');
    hiddenPid = Number(/hid pid (\d+)/.exec(hidden.output)?.[1]);
    await control.run(
      `sh -c 'printf "${HOSTILE_COMM}" >/proc/self/comm; while :; do sleep 1; done' </dev/null >/dev/null 2>&1 &`,
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    control.close();
    await guest.snapshot(join(dir, 'guest.elf'));
  } finally {
    await guest.stop();
  }
  report = join(dir, 'report.html');
  const run = spawnSync(
    process.execPath,
    [cli, 'snapshot', 'report', join(dir, 'guest.elf'), '-o', report],
    {
      encoding: 'utf8',
    },
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

describe('the snapshot report in chromium', () => {
  it('shows the process tree with the hostile name as text, not markup', async () => {
    expect(hiddenPid).toBeGreaterThan(1);
    const init = await page.$eval('#proc-1 .comm', (element) => element.textContent);
    expect(init).toBe('init');
    // The hidden process sits under its parent's <details>, not at the top.
    const parent = await page.$eval(
      `#proc-${hiddenPid}`,
      (element) =>
        element.closest('.kids')?.parentElement?.querySelector('summary .pid')?.textContent,
    );
    expect(Number(parent)).toBeGreaterThan(1);
    expect(await page.$('#pwn')).toBeNull();
    const names = await page.$$eval('.proc .comm', (elements) =>
      elements.map((element) => element.textContent),
    );
    expect(names).toContain(HOSTILE_COMM);
  });

  it('highlights the hidden process and its link reveals the finding’s evidence', async () => {
    const classes = await page.$eval(`#proc-${hiddenPid}`, (element) => element.className);
    expect(classes).toContain('flagged');
    expect(classes).toContain('hidden');
    const link = await page.$(`#proc-${hiddenPid} a.badge`);
    expect(link).not.toBeNull();
    const target = await link!.evaluate((element) => element.getAttribute('href')!.slice(1));
    const isOpen = () =>
      page.$eval(`#${target}`, (element) => (element as unknown as { open: boolean }).open);
    expect(await isOpen()).toBe(false);
    await link!.click();
    // The tsconfig has no DOM library: the page-side check is given as source.
    await page.waitForFunction(`document.getElementById(${JSON.stringify(target)}).open`);
    expect(await isOpen()).toBe(true);
    const text = await page.$eval(`#${target}`, (element) => element.textContent ?? '');
    expect(text).toContain('lnx-hidden-process');
    expect(text).toContain('T1014');
    const visible = await page.$eval(
      `#${target} .finding-body`,
      (element) => element.getBoundingClientRect().height,
    );
    expect(visible).toBeGreaterThan(0);
  });

  it('marks syscall 217 (into ringside_test) on the map, and nothing else in either map', async () => {
    const marked = await page.$$eval('#syscalls .cell.bad', (cells) =>
      cells.map((cell) => cell.getAttribute('data-index')),
    );
    expect(marked).toEqual(['217']);
    expect(await page.$$eval('#syscalls .cell', (cells) => cells.length)).toBeGreaterThan(300);
    expect(await page.$$eval('#idt .cell', (cells) => cells.length)).toBeGreaterThan(20);
    // The IDT is clean (vectors left on their early-boot stubs are not marked, as in the check).
    expect(await page.$$eval('#idt .cell.bad', (cells) => cells.length)).toBe(0);
  });

  it('loaded nothing but itself and keeps a screenshot', async () => {
    expect(requests).toEqual([`file://${report}`]);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'snapshot-report.png'), fullPage: true });
    expect(existsSync(join(ARTIFACTS, 'snapshot-report.png'))).toBe(true);
  });
});
