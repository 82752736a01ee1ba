// Who owns what among a group of rule workers: leases in a JetStream KV bucket whose entries expire
// (the bucket's TTL) unless renewed; create and update with the expected revision keep them exclusive.
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

export const LEASES_BUCKET = 'ringside_leases';

export interface LeaseOptions {
  /** A lease not renewed for this long is gone and another worker may take it. */
  ttlMs: number;
  replicas: number;
}

/** A held lease: its key and the revision the next renewal must match. */
export interface Lease {
  key: string;
  revision: number;
}

export class LeaseTable {
  private constructor(
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
    readonly owner: string,
  ) {}

  /** Opens (or creates) the bucket; a bucket made earlier keeps its TTL. */
  static async open(nc: NatsConnection, owner: string, options: LeaseOptions): Promise<LeaseTable> {
    const kv = await new Kvm(nc).create(LEASES_BUCKET, {
      ttl: options.ttlMs,
      history: 1,
      replicas: options.replicas,
    });
    return new LeaseTable(kv, await jetstreamManager(nc), owner);
  }

  /** Takes `key` if nobody holds it; undefined when another worker does. */
  async acquire(key: string): Promise<Lease | undefined> {
    try {
      return { key, revision: await this.kv.create(key, this.owner) };
    } catch (error) {
      if (isWrongRevision(error)) return undefined;
      throw error;
    }
  }

  /** Extends the lease; undefined when it was lost (expired and taken, or deleted). */
  async renew(lease: Lease): Promise<Lease | undefined> {
    try {
      return await this.update(lease);
    } catch (error) {
      if (!isWrongRevision(error)) throw error;
    }
    // A renewal that timed out here may have been applied there: the entry still names this owner,
    // at a revision this worker never heard of. Renewed again from it, so the TTL counts from now.
    const entry = await this.kv.get(lease.key);
    if (!entry || entry.operation !== 'PUT' || entry.string() !== this.owner) return undefined;
    try {
      return await this.update({ key: lease.key, revision: entry.revision });
    } catch (error) {
      if (isWrongRevision(error)) return undefined;
      throw error;
    }
  }

  private async update(lease: Lease): Promise<Lease> {
    return {
      key: lease.key,
      revision: await this.kv.update(lease.key, this.owner, lease.revision),
    };
  }

  /** Gives the lease up at once (only if still ours), so another worker need not wait for its expiry. */
  async release(lease: Lease): Promise<void> {
    await this.kv.delete(lease.key, { previousSeq: lease.revision }).catch(() => undefined);
  }

  /** Writes `key` unconditionally (a heartbeat). */
  async put(key: string): Promise<void> {
    await this.kv.put(key, this.owner);
  }

  /** The holders of `keys` that are held now (one get each: no listing, see below). */
  async holders(keys: string[]): Promise<Map<string, string>> {
    const held = new Map<string, string>();
    const entries = await Promise.all(keys.map((key) => this.kv.get(key)));
    entries.forEach((entry, index) => {
      if (entry && entry.operation === 'PUT') held.set(keys[index]!, entry.string());
    });
    return held;
  }

  /**
   * Live keys under `prefix` (deleted and expired ones left out) with their holders. The keys come
   * from the stream's subjects (one request), not kv.keys(), whose consumer never answered again
   * after the bucket's leader node was killed (nats-server 2.9). Even so, a new leader may answer
   * with no subjects for a while: callers must not take an empty answer for "nobody".
   */
  async list(prefix: string): Promise<Map<string, string>> {
    const subjectPrefix = `$KV.${LEASES_BUCKET}.`;
    const info = await this.jsm.streams.info(`KV_${LEASES_BUCKET}`, {
      subjects_filter: `${subjectPrefix}${prefix}.>`,
    });
    const keys = Object.keys(info.state.subjects ?? {}).map((s) => s.slice(subjectPrefix.length));
    return this.holders(keys);
  }
}

const isWrongRevision = (error: unknown): boolean =>
  error instanceof Error && /wrong last sequence|key exists/i.test(error.message);
