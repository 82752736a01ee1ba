// Hands a written ISF to Volatility 3 itself: its JSON schemas (when python3-jsonschema is there)
// and its symbol-table loader. Needs a volatility3 checkout: RINGSIDE_VOLATILITY3=<path>.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BANNER, SLIDE, sample, symbols } from './test-support/sample-types.js';
import { writeIsf } from './write-isf.js';

const VOLATILITY = process.env['RINGSIDE_VOLATILITY3'];
const present = VOLATILITY !== undefined && existsSync(join(VOLATILITY, 'volatility3'));
if (!present) {
  console.warn(
    'RINGSIDE_VOLATILITY3 does not name a volatility3 checkout: the Volatility test is skipped',
  );
}

const CHECK = `
import json, sys
sys.path.insert(0, sys.argv[1])
path = sys.argv[2]
document = json.load(open(path))
try:
    import jsonschema
    for version in ('6.2.0', '6.3.0'):
        schema = json.load(open(f'{sys.argv[1]}/volatility3/schemas/schema-{version}.json'))
        jsonschema.validate(document, schema)
except ImportError:
    pass
from volatility3.framework import contexts
from volatility3.framework.automagic import symbol_cache
from volatility3.framework.symbols.intermed import IntermediateSymbolTable
context = contexts.Context()
# LinuxKernelIntermedSymbols also wants every kernel type it has classes for (file, dentry …);
# those come with a full vmlinux BTF, not with this sample.
table = IntermediateSymbolTable(context, 'ringside', 'vmlinux', isf_url='file://' + path)
context.symbol_space.append(table)
task = table.get_type('task_struct')
init_task = table.get_symbol('init_task')
print(json.dumps({
    'size': task.size,
    'tasks': task.relative_child_offset('tasks'),
    'rcu_users': task.relative_child_offset('rcu_users'),
    'uid': table.get_type('cred').relative_child_offset('uid'),
    'init_task': hex(init_task.address),
    'init_task_type': init_task.type.vol.type_name,
    'banner': symbol_cache.LinuxIdentifier.get_identifier(document).decode('latin1'),
    'states': table.get_enumeration('task_state').choices,
}))
`;

(present ? describe : describe.skip)('Volatility 3 on an ISF Ringside wrote', () => {
  it('validates against its schemas and loads as a Linux symbol table', () => {
    const directory = mkdtempSync(join(tmpdir(), 'ringside-vol-'));
    try {
      const path = join(directory, 'ringside.json');
      writeFileSync(path, writeIsf({ types: sample(), symbols, banner: BANNER, slide: SLIDE }));
      const output = execFileSync('python3', ['-c', CHECK, VOLATILITY!, path], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(JSON.parse(output)).toEqual({
        size: 96,
        tasks: 8,
        rcu_users: 48,
        uid: 4,
        init_task: '0xffffffff82e0f940',
        init_task_type: 'vmlinux!task_struct',
        banner: `${BANNER}\0`,
        states: { RUNNING: 0, BLOCKED: 2 },
      });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }, 60_000);
});
