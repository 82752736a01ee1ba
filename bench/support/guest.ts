// What the live benchmarks share: a fork/exec loop timed by the guest itself, a sample guest started
// for the length of a measurement, and the median of a few runs.
import { startSampleGuest, type RunningGuest } from '../../lab/guest/launch.js';

export const LOOP = "time sh -c 'for i in $(seq 300); do /bin/true; done'";

export const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export const say = (line: string): void => void process.stdout.write(`${line}\n`);

/** Seconds the guest itself measured for a `time …` command (busybox prints "real 0m 2.11s"). */
export async function guestLoopSeconds(
  guest: RunningGuest,
  runs = 3,
  loop = LOOP,
): Promise<number> {
  const control = await guest.control();
  const times: number[] = [];
  try {
    await control.run(loop); // warm the translation cache
    for (let run = 0; run < runs; run++) {
      const { output } = await control.run(loop, 300_000);
      const match = /real\s+(\d+)m\s*([\d.]+)s/.exec(output);
      if (!match) throw new Error(`no timing in: ${output}`);
      times.push(Number(match[1]) * 60 + Number(match[2]));
    }
  } finally {
    control.close();
  }
  return median(times);
}

export async function withGuest<T>(
  name: string,
  vcpus: number,
  plugin: boolean,
  body: (guest: RunningGuest) => Promise<T>,
): Promise<T> {
  const guest = await startSampleGuest({ name, vcpus, ...(plugin ? {} : { plugin: false }) });
  try {
    return await body(guest);
  } finally {
    await guest.stop();
  }
}
