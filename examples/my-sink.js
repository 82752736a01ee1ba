// An example third-party sink: one line per finding ("<rule id> <severity> <message>") appended to a
// file. In a sinks file: `{ type: module, path: ./my-sink.js, file: findings.txt }`.
import { appendFile } from 'node:fs/promises';

/** @type {import('ringside').SinkModuleFactory} */
export default function createLineSink(options, { name }) {
  if (typeof options.file !== 'string') throw new Error('the line sink needs a file option');
  const file = options.file;
  let accepted = 0;
  let sent = 0;
  return {
    name,
    async write(finding) {
      accepted++;
      await appendFile(file, `${finding.rule.id} ${finding.severity} ${finding.message}\n`);
      sent++;
    },
    async flush() {},
    async close() {},
    metrics: () => ({
      sink: name,
      health: 'ok',
      accepted,
      queued: 0,
      queuedBytes: 0,
      sent,
      retried: 0,
      deadLettered: 0,
      dropped: 0,
    }),
  };
}
