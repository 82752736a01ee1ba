// Every operator on every field type, with the answers written by hand: this anchors the semantics
// that the differential tests then hold the compiled engine to.
import type { VmiEvent } from '../introspect/events/event.js';
import { checkCondition } from './check.js';
import { CompileContext, compileCondition } from './compile.js';
import { DiagnosticBag } from './diagnostics.js';
import { interpret } from './interpret.js';
import { parseCondition } from './parser.js';
import { resolveCondition } from './resolve.js';
import { plainSource } from './source.js';

const event: VmiEvent = {
  type: 'network.connect',
  domain: 'web-1',
  time: 5,
  process: {
    pid: 42,
    name: 'Bash',
    executable: '/tmp/x/run.sh',
    args: ['bash', '-c', 'id'],
    kernel_thread: false,
    task: 0xffff888003a00000n,
    parent: { name: 'nginx' },
  },
  user: { id: 1000 },
  vmi: { gva: 0xffffffff81000010n },
  network: { destination_ip: '10.1.2.3', source_ip: '::1' },
};

const cases: [string, boolean][] = [
  ['process.name = Bash', true],
  ['process.name = bash', false],
  ['process.name == Bash', true],
  ['process.name != bash', true],
  ['process.name in (sh, Bash)', true],
  ['process.name in (sh, bash)', false],
  ['process.name contains as', true],
  ['process.name contains AS', false],
  ['process.name icontains AS', true],
  ['process.name icontains (zz, BA)', true],
  ['process.executable startswith /tmp/', true],
  ['process.executable startswith (/var/, /dev/shm/)', false],
  ['process.executable endswith .sh', true],
  ['process.executable glob "/tmp/*.sh"', true],
  ['process.executable glob "/tmp/?/run.sh"', true],
  ['process.executable glob "/tmp/*.py"', false],
  ['process.executable glob "run.sh"', false],
  ['process.executable regex "x/[a-z]+\\\\.sh$"', true],
  ['process.executable regex "^x"', false],
  ['process.args = -c', true],
  ['process.args != -c', false],
  ['process.args != -x', true],
  ['process.args contains "i"', true],
  ['process.args startswith ba', true],
  ['process.args in (zsh, id)', true],
  ['process.pid = 42', true],
  ['process.pid = 0x2a', true],
  ['process.pid < 42', false],
  ['process.pid <= 42', true],
  ['process.pid > 41', true],
  ['process.pid >= 43', false],
  ['process.pid in (1, 42)', true],
  ['process.pid != 42', false],
  ['process.task = 0xffff888003a00000', true],
  ['vmi.gva >= 0xffffffff81000000 and vmi.gva < 0xffffffff82000000', true],
  ['vmi.gva > 18446744071578845200', false],
  ['process.kernel_thread = false', true],
  ['process.kernel_thread != false', false],
  ['network.destination_ip = 10.1.2.3', true],
  ['network.destination_ip cidr 10.0.0.0/8', true],
  ['network.destination_ip cidr (192.168.0.0/16, 172.16.0.0/12)', false],
  ['network.source_ip = "0:0::1"', true],
  ['network.source_ip cidr ::/0', true],
  ['network.source_ip cidr 0.0.0.0/0', false],
  ['process.name exists', true],
  ['module.name exists', false],
  ['module.name = x', false],
  ['module.name != x', false],
  ['not module.name = x', true],
  ['process.parent.name = nginx and not process.parent.pid exists', true],
  ['user.id = 0 or user.id = 1000', true],
  ['true and not false', true],
  ['type = network.connect and domain = web-1 and time = 5', true],
];

describe('operators', () => {
  it.each(cases)('%s is %s, compiled and interpreted', (text, expected) => {
    const bag = new DiagnosticBag();
    const parsed = parseCondition(plainSource(text, 'case'));
    if (!parsed.ok) throw new Error(parsed.error.message);
    const resolved = resolveCondition(
      parsed.condition,
      { macros: new Map(), lists: new Map() },
      bag,
      {
        macros: new Set(),
        lists: new Set(),
      },
    );
    const checked = resolved && checkCondition(resolved, bag);
    expect(bag.items).toEqual([]);
    expect(interpret(checked!, event)).toBe(expected);
    expect(compileCondition(checked!, new CompileContext())(event)).toBe(expected);
  });
});
