// Plain-text tables for the terminal: columns padded to their widest cell, numbers right-aligned;
// every cell escaped for the terminal (guest strings such as comm and module names may hold controls).
import { escapeForTerminal } from '../sinks/text/terminal.js';
import { toJson as toJsonText } from '../introspect/events/json.js';

export interface Column<Row> {
  header: string;
  value: (row: Row) => string | number;
  align?: 'left' | 'right';
}

export function formatTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) =>
    columns.map((column) => escapeForTerminal(String(column.value(row)))),
  );
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...cells.map((line) => line[index]!.length)),
  );
  const render = (line: readonly string[]): string =>
    line
      .map((cell, index) => {
        const right = (columns[index]!.align ?? 'left') === 'right';
        return right ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!);
      })
      .join('  ')
      .trimEnd();
  return [
    render(columns.map((column) => escapeForTerminal(column.header))),
    ...cells.map(render),
  ].join('\n');
}

/** JSON for --json output: indented, bigint written as "0x…" strings. */
export const toJson = (value: unknown): string => toJsonText(value, 2);
