import { formatTable, toJson } from './table.js';

describe('formatTable', () => {
  it('escapes guest strings in cells and pads by the escaped width', () => {
    const rows = [
      { comm: '\x1b[2J\x1b[31mPWNED', pid: 7 },
      { comm: 'init', pid: 1 },
    ];
    const table = formatTable(
      [
        { header: 'PID', value: (row: (typeof rows)[number]) => row.pid, align: 'right' },
        { header: 'COMM', value: (row) => row.comm },
      ],
      rows,
    );
    expect(table.split('\n')).toEqual(['PID  COMM', '  7  \\x1b[2J\\x1b[31mPWNED', '  1  init']);
  });

  it('keeps JSON exact: control characters are JSON escapes of the same string', () => {
    const comm = '\x1b[2J\x1b[31mPWNED';
    expect(JSON.parse(toJson([{ comm }]))).toEqual([{ comm }]);
  });
});
