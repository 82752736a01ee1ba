// The fleet end to end on the real sample guest (a plain QEMU, attached by `ringside agent` through its
// process and QMP), a 3-node JetStream cluster and two `ringside detect` workers writing a file sink:
// the exec-from-tmp attack scenario, run again with a NATS node killed, with the worker writing the
// sink SIGKILLed, and with the agent SIGKILLed and restarted; every finding is in the sink exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { decodeTraceEvent } from '../../introspect/events/trace.js';
import { unpackEvents } from './event-batch.js';
import { startSampleGuest, type RunningGuest } from '../../lab/guest/launch.js';
import type { GuestControl } from '../../lab/guest/control.js';
import { NatsCluster } from '../../lab/nats/cluster.js';
import { runScenario } from '../../lab/scenarios/scenarios.js';
import { Detector, RuleEngine } from '../../rules/index.js';
import { loadRules } from '../starter-rules.js';
import { EVENTS_STREAM, parseSubject } from './subjects.js';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const GUEST = 'fleet-agent-it';
const RULE = 'lnx-exec-from-writable-dir';

let guest: RunningGuest;
let control: GuestControl;
let cluster: NatsCluster;
let nc: NatsConnection;
let jsm: JetStreamManager;
let directory: string;
const children = new Set<ChildProcess>();
/** Every child's stderr, by command, for the failure message. */
const outputs: { name: string; stderr: () => string }[] = [];

interface Child {
  process: ChildProcess;
  stderr: () => string;
  exited: Promise<unknown>;
}

function ringside(...args: string[]): Child {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  void exited.then(() => children.delete(child));
  outputs.push({ name: `${args[0]} (pid ${child.pid})`, stderr: () => stderr });
  return { process: child, stderr: () => stderr, exited };
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The file sink's findings: [id, rule] per line. */
function sinkFindings(): { id: string; rule: string }[] {
  const path = join(directory, 'findings.ndjson');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const document = JSON.parse(line) as { event: { id: string }; rule: { id: string } };
      return { id: document.event.id, rule: document.rule.id };
    });
}

/** What the starter rules find in every event the stream holds, each guest on its own. */
async function findingsOfStoredEvents(): Promise<Set<string>> {
  const engine = new RuleEngine(await loadRules());
  const detectors = new Map<string, Detector>();
  const ids = new Set<string>();
  const { state } = await jsm.streams.info(EVENTS_STREAM);
  const messages = await (await jetstream(nc).consumers.get(EVENTS_STREAM)).consume();
  for await (const message of messages) {
    const where = parseSubject(message.subject)!;
    const key = `${where.host}.${where.guest}`;
    if (!detectors.has(key)) detectors.set(key, new Detector(engine));
    // One event, or a batch of the guest's events in order.
    for (const json of unpackEvents(message.subject, message.string()))
      detectors.get(key)!.process(decodeTraceEvent(json, message.subject), (f) => ids.add(f.id));
    if (message.seq >= state.last_seq) break;
  }
  await messages.close();
  return ids;
}

/** Runs exec-from-tmp (two execs from /tmp/.x) and waits for its two findings in the sink. */
async function attack(round: number): Promise<void> {
  const before = sinkFindings().filter((f) => f.rule === RULE).length;
  await runScenario(control, 'exec-from-tmp', 'run');
  await runScenario(control, 'exec-from-tmp', 'cleanup');
  await waitFor(
    `round ${round}'s findings in the sink`,
    () => sinkFindings().filter((f) => f.rule === RULE).length >= before + 2,
  );
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'fleet-guest-it-'));
  [guest, cluster] = await Promise.all([
    startSampleGuest({ name: GUEST, plain: true }),
    NatsCluster.start(3, 'fleet-guest-it'),
  ]);
  control = await guest.control();
  nc = await connect({ servers: cluster.servers, maxReconnectAttempts: -1 });
  jsm = await jetstreamManager(nc);
}, 240_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  control?.close();
  await guest?.stop();
  await nc?.close();
  await cluster?.destroy();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

it('the agent’s findings reach the file sink exactly once through a node, a worker and the agent killed', async () => {
  try {
    await endToEnd();
  } catch (error) {
    const logs = outputs.map((o) => `--- ${o.name}\n${o.stderr().slice(-4000)}`).join('\n');
    throw new Error(`${(error as Error).message}\n${logs}`, { cause: error });
  }
}, 300_000);

async function endToEnd(): Promise<void> {
  const started = Date.now();
  const servers = cluster.servers.join(',');
  writeFileSync(
    join(directory, 'sinks.yaml'),
    JSON.stringify({ sinks: [{ type: 'file', path: join(directory, 'findings.ndjson') }] }),
  );
  // The agent as the checks run it: the NATS URLs and the guest on the command line.
  const agentArgs = [
    'agent',
    '--nats',
    servers,
    '--guest',
    `qemu-pid=${guest.pid},qmp=${guest.endpoints.qmpSocket},name=${GUEST}`,
    '--buffer',
    join(directory, 'buffer'),
    '--host',
    'fleet-it-host',
  ];
  const workerArgs = [
    'detect',
    '--nats',
    servers,
    '--rules',
    'samples/rules',
    '--sinks',
    join(directory, 'sinks.yaml'),
    '--lease-ttl',
    // Long enough that a loaded 2-core machine renews in time (4 s leases flapped between the
    // workers there); a killed worker's leases still move within the test's waits.
    '8',
  ];
  let agent = ringside(...agentArgs);
  const workers = [ringside(...workerArgs), ringside(...workerArgs)];
  await waitFor('the agent to attach', () => agent.stderr().includes(`attached ${GUEST}`), 60_000);

  // 1. Everything up.
  await attack(1);

  // 2. A NATS node SIGKILLed mid-run (R3 streams and the leases bucket keep a quorum).
  await cluster.killNode(1);
  await attack(2);
  cluster.startNode(1);

  // 3. The worker writing the sink SIGKILLed: the other takes the sinks and its partitions over.
  const writer = workers.find((w) => w.stderr().includes('this worker writes the findings'))!;
  expect(writer).toBeDefined();
  writer.process.kill('SIGKILL');
  await writer.exited;
  await attack(3);
  const survivor = workers.find((w) => w !== writer)!;
  expect(survivor.stderr()).toContain('this worker writes the findings');

  // 4. The agent SIGKILLed while the attack runs (its hardware breakpoints left in QEMU stop the
  // guest at the next exec) and restarted at once: it cleans the dead one's gdbstub up (the guest
  // resumes), attaches again, and what it had buffered on disk is sent again (the duplicate window
  // drops what was already stored).
  const run = runScenario(control, 'exec-from-tmp', 'run');
  await new Promise((resolve) => setTimeout(resolve, 300));
  agent.process.kill('SIGKILL');
  await agent.exited;
  agent = ringside(...agentArgs);
  await waitFor('the agent to attach again', () => agent.stderr().includes(`attached ${GUEST}`));
  await run;
  await runScenario(control, 'exec-from-tmp', 'cleanup');
  await attack(4);

  // Every finding of every stored event is in the sink, exactly once.
  let expected = new Set<string>();
  await waitFor('the sink to hold what the stored events give', async () => {
    expected = await findingsOfStoredEvents();
    return sinkFindings().length >= expected.size;
  });
  const ids = sinkFindings().map((f) => f.id);
  expect(ids.length).toBe(new Set(ids).size);
  expect(new Set(ids)).toEqual(expected);
  process.stderr.write(`fleet end to end on the sample guest: ${Date.now() - started} ms\n`);
  agent.process.kill('SIGTERM');
  survivor.process.kill('SIGTERM');
  await Promise.all([agent.exited, survivor.exited]);
}
