// /proc/PID/maps of a process: its mappings with addresses, permissions and backing file, to find
// which host mapping holds a QEMU guest's RAM when no monitor can say so.
import { readFileSync } from 'node:fs';
import { InputError } from '../../errors.js';

export interface HostMapping {
  start: bigint;
  end: bigint;
  perms: string;
  /** Backing file, [heap], /memfd:NAME (deleted) …; '' for anonymous memory. */
  path: string;
}

export function parseMaps(text: string): HostMapping[] {
  const mappings: HostMapping[] = [];
  for (const line of text.split('\n', 1_000_000)) {
    const match = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (!match) continue;
    mappings.push({
      start: BigInt(`0x${match[1]}`),
      end: BigInt(`0x${match[2]}`),
      perms: match[3]!,
      path: match[4]!,
    });
  }
  return mappings;
}

export function readMaps(pid: number): HostMapping[] {
  try {
    return parseMaps(readFileSync(`/proc/${pid}/maps`, 'utf8'));
  } catch (error) {
    throw new InputError(
      `cannot read its memory map (${(error as NodeJS.ErrnoException).code})`,
      `pid ${pid}`,
      { cause: error },
    );
  }
}

/**
 * The one readable-writable mapping of exactly `bytes` that can hold guest RAM (anonymous, memfd,
 * hugetlbfs or a file); undefined when none or several fit, since guessing would read the wrong memory.
 */
export function ramMappingOfSize(
  mappings: readonly HostMapping[],
  bytes: bigint,
): HostMapping | undefined {
  const fits = mappings.filter(
    (mapping) =>
      mapping.end - mapping.start === bytes &&
      mapping.perms.startsWith('rw') &&
      (mapping.path === '' || /^\/memfd:|^\/dev\/(shm|hugepages)|\.ram|^\//.test(mapping.path)) &&
      !/\.so(\.|$)/.test(mapping.path),
  );
  return fits.length === 1 ? fits[0] : undefined;
}
