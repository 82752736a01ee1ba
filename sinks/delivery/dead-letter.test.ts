// The dead-letter file: whole JSON lines, readable again after a write cut short by a crash or a full
// disk (the torn line is skipped and reported, the letters after it are kept).
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDeadLetters, readDeadLetters, writeDeadLetters } from './dead-letter.js';

let directory: string;
let path: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'dead-letter-'));
  path = join(directory, 'dead-letter.ndjson');
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

const letter = (n: number) => ({
  record: { id: `id-${n}`, body: JSON.stringify({ n, text: 'x'.repeat(40) }) },
  reason: `refused ${n}`,
});

it('writes one JSON line per refused finding, readable back, owner-only', async () => {
  await writeDeadLetters(path, 'es', [letter(1), letter(2)], new Date(0));
  await writeDeadLetters(path, 'es', [letter(3)], new Date(0));
  const file = await readDeadLetters(path);
  expect(file.torn).toEqual([]);
  expect(file.letters.map((l) => [l.id, l.sink, l.reason])).toEqual([
    ['id-1', 'es', 'refused 1'],
    ['id-2', 'es', 'refused 2'],
    ['id-3', 'es', 'refused 3'],
  ]);
  expect(file.letters[0]!.body).toBe(letter(1).record.body);
  expect(statSync(path).mode & 0o777).toBe(0o600);
});

it('has no letters when there is no file', async () => {
  expect(await readDeadLetters(path)).toEqual({ letters: [], torn: [] });
});

it('keeps the letters written after a line torn by a crash, and reports the torn line', async () => {
  await writeDeadLetters(path, 'es', [letter(1)]);
  // A crash mid-append: half a line, no newline.
  const whole = readFileSync(path, 'utf8');
  appendFileSync(path, whole.slice(0, 30));
  await writeDeadLetters(path, 'es', [letter(2), letter(3)]);
  const file = await readDeadLetters(path);
  expect(file.letters.map((l) => l.id)).toEqual(['id-1', 'id-2', 'id-3']);
  expect(file.torn).toEqual([{ line: 2, bytes: 30, text: whole.slice(0, 30) }]);
});

it('reports lines that are JSON but not dead letters, and skips blank lines', () => {
  const good = JSON.stringify({ time: 't', sink: 's', id: 'a', reason: 'r', body: '{}' });
  const file = parseDeadLetters(`${good}\n\n{"id":"b"}\n[1]\n${good}\n`);
  expect(file.letters).toHaveLength(2);
  expect(file.torn.map((t) => t.line)).toEqual([3, 4]);
});
