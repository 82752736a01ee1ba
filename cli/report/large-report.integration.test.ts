// A session report of 10,000 processes and 100,000 events (synthetic, no guest) in Debian's headless
// chromium, offline: only the rows in view are in the DOM, scrolling draws the end, a #proc link
// unfolds its row, folding shortens the tree, the timeline zooms, and nothing is fetched.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { renderSession } from './session.js';
import { syntheticSession } from './test-support/synthetic-session.js';

const CHROMIUM = process.env.RINGSIDE_CHROMIUM ?? '/usr/bin/chromium';

let dir: string;
let path: string;
let browser: Browser;
let page: Page;
const requests: string[] = [];
const session = syntheticSession(10_000, 100_000, 40);

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no chromium at ${CHROMIUM}: install it (scripts/apt.d/report.list)`);
  dir = mkdtempSync(join(tmpdir(), 'ringside-large-report-'));
  path = join(dir, 'session.html');
  writeFileSync(
    path,
    renderSession({
      title: 'synthetic session',
      source: 'test',
      generated: new Date().toISOString(),
      findings: session.findings,
      events: session.events,
      warnings: [],
    }),
  );
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  await page.setOfflineMode(true);
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(`file://${path}`, { waitUntil: 'load' });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Evaluated in the page (the tsconfig has no DOM library: the checks are given as source). */
const inPage = <T>(source: string) => page.evaluate(source) as Promise<T>;

describe('a 10,000-process, 100,000-event session report in chromium', () => {
  it('keeps only the rows in view in the DOM', async () => {
    const counts = await inPage<{ tree: number; events: number; all: number }>(`({
      tree: document.querySelectorAll('.vtree .vrow').length,
      events: document.querySelectorAll('.vevents .vrow').length,
      all: document.getElementsByTagName('*').length,
    })`);
    expect(counts.tree).toBeGreaterThan(5);
    expect(counts.tree).toBeLessThan(100);
    expect(counts.events).toBeGreaterThan(5);
    expect(counts.events).toBeLessThan(100);
    expect(counts.all).toBeLessThan(5_000);
  });

  it('draws the last event when the list is scrolled to its end', async () => {
    const last = new Date(Math.max(...session.events.map((event) => event.time)))
      .toISOString()
      .slice(11, 23);
    const shown = await inPage<string[]>(`(async () => {
      const box = document.querySelector('.vevents');
      box.scrollTop = box.scrollHeight;
      await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
      return [...box.querySelectorAll('.vrow .etime')].map((element) => element.textContent);
    })()`);
    expect(shown).toContain(last);
    expect(shown.length).toBeLessThan(100);
  });

  it('unfolds and marks a process reached by its #proc link, and folding shortens the tree', async () => {
    const deep = session.processes.at(-1)!.pid;
    await page.evaluate(`location.hash = '#proc-${deep}'`);
    await page.waitForFunction(
      `document.getElementById('proc-${deep}')?.classList.contains('focus')`,
    );
    const height = () => inPage<number>(`document.querySelector('.vtree .vspace').offsetHeight`);
    const before = await height();
    expect(before).toBe(10_000 * 20);
    // Fold the first service (pid 100): its shells and their commands leave the list.
    await inPage(`(() => {
      const box = document.querySelector('.vtree');
      box.scrollTop = 0;
      box.dispatchEvent(new Event('scroll'));
    })()`);
    await page.waitForFunction(`!!document.getElementById('proc-100')`);
    await inPage(`document.querySelector('#proc-100 .fold').click()`);
    expect(await height()).toBeLessThan(before);
  });

  it('zooms the timeline and draws marks on its canvases', async () => {
    const range = () => inPage<string>(`document.querySelector('.zrange').textContent`);
    const whole = await range();
    await inPage(`document.querySelector('[data-zoom="in"]').click()`);
    const zoomed = await range();
    expect(zoomed).not.toBe(whole);
    const inked = await inPage<
      number[]
    >(`[...document.querySelectorAll('.zcanvas')].map((canvas) => {
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let count = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) count++;
      return count;
    })`);
    expect(inked).toHaveLength(2);
    for (const count of inked) expect(count).toBeGreaterThan(100);
  });

  it('loaded nothing but itself', () => {
    expect(requests).toEqual([`file://${path}`]);
  });
});
