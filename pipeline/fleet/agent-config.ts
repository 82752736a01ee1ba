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

/** The configuration with every default filled in. */
export interface AgentConfig {
  host: string;
  servers: string[];
  streams: typeof DEFAULT_STREAM_LIMITS;
  bufferDirectory: string;
  bufferMaxBytes: number;
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
