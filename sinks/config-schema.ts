// The sinks configuration file's schema (zod): every key of every sink type, with its type and range.
// Unknown keys are refused, so a misspelt option (nameSpace, batchsize, tls.ca_file) is an error naming
// the file and the key, never silently ignored; one line per problem, exit 2 in the CLI.
import { z } from 'zod';
import { InputError } from '../introspect/errors.js';
import { DOCUMENT_FORMATS } from './format.js';

const SINK_TYPES = ['stdout', 'file', 'elasticsearch', 'syslog', 'splunk'] as const;
export type SinkType = (typeof SINK_TYPES)[number];

const positive = z.int().positive();
const nonNegative = z.int().nonnegative();
const name = z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be letters, digits, . _ -');
const secret = z.union(
  [z.strictObject({ env: z.string().min(1) }), z.strictObject({ file: z.string().min(1) })],
  {
    error: 'a secret must be { env: NAME } or { file: PATH }, never the value itself',
  },
);
const httpUrl = z.string().refine(
  (text) => {
    try {
      const url = new URL(text);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      return false;
    }
  },
  { error: (issue) => `must be an http:// or https:// URL, not ${JSON.stringify(issue.input)}` },
);

const queue = z.strictObject({
  maxBytes: positive.optional(),
  segmentBytes: positive.optional(),
  fsyncIntervalMs: nonNegative.optional(),
  fsyncBytes: positive.optional(),
  whenFull: z.enum(['block', 'drop-newest']).optional(),
  blockTimeoutMs: nonNegative.optional(),
});
/** Options every network sink has: its queue and the delivery loop. */
const delivery = {
  name: name.optional(),
  queue: queue.optional(),
  batchSize: positive.optional(),
  batchBytes: positive.optional(),
  concurrency: positive.max(64).optional(),
  retry: z.strictObject({ baseMs: positive.optional(), maxMs: positive.optional() }).optional(),
  failingAfter: positive.optional(),
  probeIntervalMs: positive.optional(),
  metricsIntervalMs: positive.optional(),
  closeTimeoutMs: nonNegative.optional(),
};
const tls = z.strictObject({
  caFile: z.string().min(1).optional(),
  verify: z.boolean().optional(),
});

const schemas = {
  stdout: z.strictObject({
    type: z.literal('stdout'),
    name: name.optional(),
    format: z.enum(DOCUMENT_FORMATS).optional(),
  }),
  file: z.strictObject({
    type: z.literal('file'),
    name: name.optional(),
    path: z.string().min(1),
    format: z.enum(DOCUMENT_FORMATS).optional(),
    maxBytes: positive.optional(),
    keep: nonNegative.optional(),
    fsyncIntervalMs: nonNegative.optional(),
  }),
  elasticsearch: z.strictObject({
    type: z.literal('elasticsearch'),
    ...delivery,
    node: z.union([httpUrl, z.array(httpUrl).min(1)]),
    namespace: z
      .string()
      .regex(/^[a-z0-9_]+$/, 'must be lowercase letters, digits and _')
      .optional(),
    auth: z
      .union([
        z.strictObject({ apiKey: secret }),
        z.strictObject({ username: z.string().min(1), password: secret }),
      ])
      .optional(),
    tls: tls.optional(),
    requestTimeoutMs: positive.optional(),
    setup: z.boolean().optional(),
  }),
  syslog: z.strictObject({
    type: z.literal('syslog'),
    ...delivery,
    host: z.string().min(1),
    port: z.int().min(1).max(65535),
    transport: z.enum(['udp', 'tcp', 'tls']),
    format: z.enum(['structured', 'cef']).optional(),
    facility: z.int().min(0).max(23).optional(),
    appName: z.string().min(1).max(48).optional(),
    enterpriseId: positive.optional(),
    tls: tls.extend({ serverName: z.string().min(1).optional() }).optional(),
    maxDatagramBytes: z.int().min(480).max(65507).optional(),
    datagramsPerSecond: z.int().min(0).max(1_000_000).optional(),
    connectTimeoutMs: positive.optional(),
  }),
  splunk: z.strictObject({
    type: z.literal('splunk'),
    ...delivery,
    url: httpUrl,
    token: secret,
    index: z.string().min(1).optional(),
    source: z.string().min(1).optional(),
    sourcetype: z.string().min(1).optional(),
    ack: z
      .strictObject({
        enabled: z.boolean().optional(),
        pollIntervalMs: positive.optional(),
        timeoutMs: positive.optional(),
      })
      .optional(),
    channel: z.string().min(1).optional(),
    tls: tls.optional(),
    requestTimeoutMs: positive.optional(),
  }),
} as const;

export type SinkEntry = { [T in SinkType]: z.infer<(typeof schemas)[T]> }[SinkType];

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** `sinks[2].tls.ca_file` from a zod path. */
const pathText = (path: readonly PropertyKey[]): string =>
  path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('');

/** The keys an object schema knows, found along `path` (for "did you mean"). */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.ZodType | undefined = schema;
  for (const key of path) {
    while (current instanceof z.ZodOptional) current = current.unwrap() as z.ZodType;
    current =
      current instanceof z.ZodObject
        ? (current.shape as Record<string, z.ZodType>)[String(key)]
        : undefined;
  }
  while (current instanceof z.ZodOptional) current = current.unwrap() as z.ZodType;
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

const folded = (key: string): string => key.toLowerCase().replace(/[_-]/g, '');

/** The first problem of an entry as one line: where, then what. */
function describeIssue(issue: z.core.$ZodIssue, where: string, schema: z.ZodType): InputError {
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const known = knownKeys(schema, issue.path);
    const near = known.find((candidate) => folded(candidate) === folded(key));
    return new InputError(
      `unknown key${near ? ` (did you mean "${near}"?)` : known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`,
      `${where}${pathText([...issue.path, key])}`,
    );
  }
  return new InputError(issue.message, `${where}${pathText(issue.path)}`);
}

/** Checks the whole configuration; throws an InputError naming the file and the first bad key. */
export function validateSinksConfig(config: unknown, source: string): SinkEntry[] {
  if (isRecord(config)) {
    const extra = Object.keys(config).filter((key) => key !== 'sinks');
    if (extra.length > 0)
      throw new InputError(`unknown key "${extra[0]}"`, `${source}: ${extra[0]}`);
  }
  const entries = isRecord(config) ? config.sinks : config;
  if (!Array.isArray(entries) || entries.length === 0)
    throw new InputError('expected a non-empty list of sinks', source);
  return entries.map((entry: unknown, index) => {
    const where = `${source}: sinks[${index}]`;
    if (!isRecord(entry) || typeof entry.type !== 'string')
      throw new InputError('each sink needs a type', where);
    if (!(SINK_TYPES as readonly string[]).includes(entry.type))
      throw new InputError(`unknown sink type "${entry.type}" (${SINK_TYPES.join(', ')})`, where);
    const schema = schemas[entry.type as SinkType];
    const result = schema.safeParse(entry);
    if (!result.success) throw describeIssue(result.error.issues[0]!, where, schema);
    return result.data;
  });
}
