// takeOverDurable tells "no such consumer" from "no answer" (the real takeovers run in
// partitions.integration.test.ts and fleet-guest.integration.test.ts against a 3-node cluster).
import { JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import { takeOverDurable, type FloorMemo } from './durable-takeover.js';

const notFound = () =>
  new JetStreamApiError({ code: 404, err_code: 10014, description: 'consumer not found' });

/** A JetStreamManager whose consumers.info/delete answer as told. */
function manager(info: () => Promise<unknown>, deleted: string[] = []): JetStreamManager {
  return {
    consumers: {
      info,
      delete: (_stream: string, name: string) => {
        deleted.push(name);
        return Promise.resolve(true);
      },
    },
  } as unknown as JetStreamManager;
}

describe('takeOverDurable', () => {
  it('reads the floor, remembers it and deletes the consumer', async () => {
    const deleted: string[] = [];
    const memo: FloorMemo = new Map();
    const jsm = manager(() => Promise.resolve({ ack_floor: { stream_seq: 41 } }), deleted);
    expect(await takeOverDurable(jsm, 'S', 'c', memo)).toEqual({ previous: true, floor: 41 });
    expect(deleted).toEqual(['c']);
    expect(memo.get('c')).toBe(41);
  });

  it('starts from the beginning only when the consumer does not exist and no floor is remembered', async () => {
    const jsm = manager(() => Promise.reject(notFound()));
    expect(await takeOverDurable(jsm, 'S', 'c', new Map())).toEqual({
      previous: false,
      floor: 0,
    });
  });

  it('a retry after a re-creation that failed goes on from the floor it read before', async () => {
    const jsm = manager(() => Promise.reject(notFound()));
    const memo: FloorMemo = new Map([['c', 17]]);
    expect(await takeOverDurable(jsm, 'S', 'c', memo)).toEqual({ previous: true, floor: 17 });
  });

  it('a timeout is thrown, never taken for a missing consumer', async () => {
    const deleted: string[] = [];
    const jsm = manager(() => Promise.reject(new Error('timeout')), deleted);
    await expect(takeOverDurable(jsm, 'S', 'c', new Map())).rejects.toThrow('timeout');
    expect(deleted).toEqual([]);
  });
});
