// `ringside agent --config agent.yaml`: the agent's YAML configuration, validated with zod; a bad file
// is one InputError naming the file and the first wrong field (exit 2).
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InputError } from '../../introspect/errors.js';
import { DEFAULT_STREAM_LIMITS } from './streams.js';

const natsUrl = z.string().regex(/^(nats|tls):\/\/[^\s]+$/, 'a nats:// or tls:// URL');

/** A guest named in the file: a replayed trace, a QEMU process, or a QEMU with Ringside's plugin. */
const configuredGuest = z.union([
  z.strictObject({ name: z.string().min(1), replay: z.string().min(1) }),
  z.strictObject({
    name: z.string().min(1).optional(),
    qemuPid: z.number().int().positive().optional(),
    qemuName: z.string().min(1).optional(),
    qmp: z.string().min(1),
    plugins: z.array(z.string()).optional(),
  }),
  z.strictObject({
    name: z.string().min(1),
    pluginSocket: z.string().min(1),
    ram: z.string().min(1),
    qmp: z.string().min(1).optional(),
    plugins: z.array(z.string()).optional(),
  }),
]);

export const agentConfigSchema = z.strictObject({
  /** This host's name in subjects and events (default: the system's host name). */
  host: z.string().min(1).optional(),
  nats: z.strictObject({
    servers: z.array(natsUrl).min(1),
    streams: z
      .strictObject({
        replicas: z.union([z.literal(1), z.literal(3), z.literal(5)]).optional(),
        maxBytes: z.number().int().positive().optional(),
        maxAgeSeconds: z.number().int().positive().optional(),
        duplicateWindowSeconds: z.number().int().positive().optional(),
      })
      .optional(),
  }),
  buffer: z.strictObject({
    directory: z.string().min(1),
    maxBytes: z.number().int().positive().optional(),
    /** How long a guest's event waits for others to go to disk and to NATS with them, ms (0–1000). */
    batchMilliseconds: z.number().int().min(0).max(1000).optional(),
  }),
  http: z.strictObject({ listen: z.string().regex(/^[^\s:]+:\d+$/, 'host:port') }).optional(),
  discovery: z
    .strictObject({
      /** Attach every QEMU process this host runs (through its QMP socket). Default true. */
      qemuProcesses: z.boolean().optional(),
      /** Only QEMU processes whose -name starts with this. */
      namePrefix: z.string().optional(),
      intervalSeconds: z.number().positive().optional(),
      plugins: z.array(z.string()).optional(),
    })
    .optional(),
  guests: z.array(configuredGuest).optional(),
});

export type AgentConfigFile = z.infer<typeof agentConfigSchema>;
export type ConfiguredGuest = z.infer<typeof configuredGuest>;

/** A guest's events batched per 50 ms: one message instead of one per event for a busy guest. */
export const DEFAULT_BATCH_MS = 50;

/** The configuration with every default filled in. */
export interface AgentConfig {
  host: string;
  servers: string[];
  streams: typeof DEFAULT_STREAM_LIMITS;
  bufferDirectory: string;
  bufferMaxBytes: number;
  /** How long a guest's event waits for others to form one message with them, ms. */
  batchMs: number;
  listen: { host: string; port: number } | undefined;
  discoverQemu: boolean;
  namePrefix: string;
  intervalMs: number;
  plugins: string[] | undefined;
  guests: ConfiguredGuest[];
}

export function parseAgentConfig(value: unknown, input: string): AgentConfig {
  const parsed = agentConfigSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    throw new InputError(`${path}: ${issue.message}`, input);
  }
  const file = parsed.data;
  const listen = file.http?.listen.match(/^(.*):(\d+)$/);
  return {
    host: file.host ?? hostname(),
    servers: file.nats.servers,
    streams: { ...DEFAULT_STREAM_LIMITS, ...file.nats.streams },
    bufferDirectory: file.buffer.directory,
    bufferMaxBytes: file.buffer.maxBytes ?? 1 << 30,
    batchMs: file.buffer.batchMilliseconds ?? DEFAULT_BATCH_MS,
    listen: listen ? { host: listen[1]!, port: Number(listen[2]) } : undefined,
    discoverQemu: file.discovery?.qemuProcesses ?? true,
    namePrefix: file.discovery?.namePrefix ?? '',
    intervalMs: (file.discovery?.intervalSeconds ?? 5) * 1000,
    plugins: file.discovery?.plugins,
    guests: file.guests ?? [],
  };
}

export async function readAgentConfig(path: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read: ${(error as Error).message}`, path);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new InputError(`not YAML: ${(error as Error).message.split('\n')[0]}`, path);
  }
  return parseAgentConfig(value, path);
}

/** `--guest` keys (as monitor's options) and the configuration keys they fill. */
const GUEST_KEYS: Record<string, string> = {
  name: 'name',
  replay: 'replay',
  'qemu-pid': 'qemuPid',
  qemu: 'qemuName',
  qmp: 'qmp',
  'plugin-socket': 'pluginSocket',
  ram: 'ram',
  plugins: 'plugins',
};

/**
 * One `--guest` spec, `key=value` pairs separated by commas with monitor's option names, e.g.
 * `qemu-pid=4242,qmp=/run/web.qmp,name=web` or `plugin-socket=/run/a.sock,ram=/dev/shm/a,name=a`.
 */
export function parseGuestSpec(spec: string): Record<string, unknown> {
  const guest: Record<string, unknown> = {};
  for (const pair of spec.split(',')) {
    const equals = pair.indexOf('=');
    const key = equals < 0 ? pair : pair.slice(0, equals);
    const field = GUEST_KEYS[key];
    if (equals < 0 || field === undefined)
      throw new InputError(
        `expected key=value pairs with the keys ${Object.keys(GUEST_KEYS).join(', ')}`,
        `--guest ${spec}`,
      );
    const value = pair.slice(equals + 1);
    guest[field] =
      field === 'qemuPid' ? Number(value) : field === 'plugins' ? value.split('+') : value;
  }
  return guest;
}

/** `--guest` specs checked as the file's guests are (`ringside top` takes them too). */
export function parseGuestSpecs(specs: readonly string[]): ConfiguredGuest[] {
  return specs.map((spec) => {
    const parsed = configuredGuest.safeParse(parseGuestSpec(spec));
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0]!;
    const path = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new InputError(
      `${path}${issue.message} (a guest is replay=FILE,name=N; plugin-socket=…,ram=…,name=N; or qmp=… with qemu-pid=… or qemu=NAME)`,
      `--guest ${spec}`,
    );
  });
}

export interface AgentFlags {
  nats: string;
  guest?: string[];
  buffer: string;
  host?: string;
  listen?: string;
  /** Also attach every QEMU process of the host (default: only the --guest ones, if any). */
  discover?: boolean;
}

/** The configuration of `ringside agent --nats URLS --guest SPEC…` (no file), checked as a file is. */
export function agentConfigFromFlags(flags: AgentFlags): AgentConfig {
  const guests = (flags.guest ?? []).map(parseGuestSpec);
  return parseAgentConfig(
    {
      ...(flags.host !== undefined ? { host: flags.host } : {}),
      nats: { servers: flags.nats.split(',').map((url) => url.trim()) },
      buffer: { directory: flags.buffer },
      ...(flags.listen !== undefined ? { http: { listen: flags.listen } } : {}),
      discovery: { qemuProcesses: flags.discover ?? guests.length === 0 },
      guests,
    },
    'the command line',
  );
}
