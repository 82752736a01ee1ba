// An example third-party detector: flags programs started from /dev/shm (memory-only payloads). It
// works on any backend that emits process.exec events, a recorded trace included. Load it with
// `ringside monitor … --plugin ./my-detector.js`, or pass it to liveEvents/startDetectors.
import { filter, map } from 'rxjs';
import { envelope } from 'ringside';

/** @type {import('ringside').DetectorPlugin} */
const shmExec = {
  meta: {
    id: 'example-shm-exec',
    version: '1.0.0',
    description: 'Programs executed from /dev/shm',
    architectures: ['x86_64', 'aarch64'],
    symbols: [],
    capabilities: {},
    emits: ['process.exec'],
  },
  start({ domain }) {
    return domain.events$.pipe(
      filter((event) => event.type === 'process.exec'),
      filter((event) => event.process?.executable?.startsWith('/dev/shm/') === true),
      map((event) => ({
        ...event,
        ...envelope(event),
        details: { ...event.details, example: 'executed from /dev/shm' },
      })),
    );
  },
};

export default shmExec;
