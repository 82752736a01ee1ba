// Partitions of the fleet's events by guest: nats-server maps ringside.events.<host>.<guest>.<type> to
// …<type>.<p>, p a deterministic hash of host and guest (its `partition()` mapping), so one guest stays in one partition.
import { EVENTS_PREFIX } from './subjects.js';

/** Partitions when none are named; the workers and every nats-server's mapping must agree. */
export const DEFAULT_PARTITIONS = 8;
export const MAX_PARTITIONS = 1024;

/**
 * The `mappings` block every nats-server of the cluster needs (docs/fleet.md): the server appends the
 * partition of host+guest (FNV-1a of the two tokens, modulo `partitions`) to each event's subject.
 */
export function partitionMapping(partitions: number): string {
  return `mappings = { "${EVENTS_PREFIX}.*.*.*": "${EVENTS_PREFIX}.{{wildcard(1)}}.{{wildcard(2)}}.{{wildcard(3)}}.{{partition(${partitions},1,2)}}" }`;
}

/** The filter of the consumer of one partition. */
export const partitionFilter = (partition: number): string => `${EVENTS_PREFIX}.*.*.*.${partition}`;

/** Events stored without a partition token: a nats-server without the mapping received them. */
export const UNPARTITIONED_FILTER = `${EVENTS_PREFIX}.*.*.*`;

/** The durable consumer of one partition, for a group of workers named `group`. */
export const partitionConsumer = (group: string, partition: number): string =>
  `${group}-p${partition}`;

export interface OwnershipInput {
  partitions: number;
  /** Workers alive now (this one included). */
  workers: number;
  /** Partitions this worker owns. */
  owned: readonly number[];
  /** Partitions nobody owns. */
  free: readonly number[];
  /** Where this worker starts looking among the free ones (so that workers spread, not collide). */
  offset: number;
}

/**
 * What one worker does at a tick: each worker aims at ceil(partitions / workers); one above it
 * releases its extra partitions (a newcomer takes them), one below takes free ones.
 */
export function planOwnership(input: OwnershipInput): { release: number[]; acquire: number[] } {
  const fair = Math.ceil(input.partitions / Math.max(1, input.workers));
  const owned = [...input.owned].sort((a, b) => a - b);
  if (owned.length > fair) return { release: owned.slice(fair), acquire: [] };
  const free = [...input.free].sort(
    (a, b) =>
      ((a - input.offset + input.partitions) % input.partitions) -
      ((b - input.offset + input.partitions) % input.partitions),
  );
  return { release: [], acquire: free.slice(0, fair - owned.length) };
}
