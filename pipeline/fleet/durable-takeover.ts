// Taking a durable consumer over from its last owner: its ack floor read, then the consumer deleted
// so it can be re-created there. "No such consumer" and "no answer" (a cluster electing) are told apart.
import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';

/**
 * Ack floors read by takeovers whose consumer was deleted but not yet re-created (by consumer name):
 * a retry after a failed re-creation must start there, not from the stream's first message.
 */
export type FloorMemo = Map<string, number>;

export interface Takeover {
  /** Whether the consumer had a previous incarnation (its floor is where to go on from). */
  previous: boolean;
  floor: number;
}

export const isConsumerNotFound = (error: unknown): boolean =>
  error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound;

/**
 * Reads `name`'s ack floor and deletes it. Any error but "not found" is thrown (the caller retries
 * later): taking a timeout for "never existed" would replay the whole stream into the sinks.
 */
export async function takeOverDurable(
  jsm: JetStreamManager,
  stream: string,
  name: string,
  memo: FloorMemo,
): Promise<Takeover> {
  let floor: number;
  try {
    floor = (await jsm.consumers.info(stream, name)).ack_floor.stream_seq;
  } catch (error) {
    if (!isConsumerNotFound(error)) throw error;
    const remembered = memo.get(name);
    return remembered === undefined
      ? { previous: false, floor: 0 }
      : { previous: true, floor: remembered };
  }
  memo.set(name, floor);
  try {
    await jsm.consumers.delete(stream, name);
  } catch (error) {
    if (!isConsumerNotFound(error)) throw error;
  }
  return { previous: true, floor };
}
