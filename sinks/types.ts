// The extension point of sinks/: what a detector writes findings into, and what a network destination
// implements so that the durable queue can deliver to it. One interface each; implementations are folders.
import type { Finding } from '../introspect/events/finding.js';

/** Health of a sink as its delivery loop sees it. */
export type SinkHealth = 'ok' | 'retrying' | 'failing' | 'closed';

/** Counters every sink keeps; `ringside status` and the exit summary print them. */
export interface SinkMetrics {
  sink: string;
  health: SinkHealth;
  /** Findings accepted by write() (on disk when a queue is in front). */
  accepted: number;
  /** Findings waiting in the queue now. */
  queued: number;
  /** Bytes the queue holds on disk now. */
  queuedBytes: number;
  /** Findings the destination confirmed (including "already stored" answers to a re-send). */
  sent: number;
  /** Delivery attempts that had to be repeated, counted per finding. */
  retried: number;
  /** Findings the destination refused for good, written to the dead-letter file with the reason. */
  deadLettered: number;
  /** Findings refused because the queue was full and the policy said so (each one logged by id). */
  dropped: number;
  /** Redacted message of the last failure, if any. */
  lastError?: string;
  lastErrorAt?: string;
  lastSentAt?: string;
}

/**
 * What a detector (or the fan-out) writes findings into.
 * write() resolves once the finding is safe: on disk for a queued sink, written for stdout/file.
 * flush() resolves once everything accepted so far is on stable storage (fsynced).
 * close() flushes, stops delivery and releases files and sockets; queued findings stay on disk.
 */
export interface Sink {
  readonly name: string;
  write(finding: Finding): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
  metrics(): SinkMetrics;
}

/** A finding as a destination will send it: its stable id and the bytes it puts on the wire. */
export interface EncodedFinding {
  id: string;
  body: string;
  /**
   * The body's UTF-8 bytes, when it comes from the durable queue (which holds it so): a destination
   * may put them on the wire as they are, without decoding and encoding them again.
   */
  readonly bytes?: Buffer;
}

/** What became of one batch: indexes (into the batch) that must be retried or were refused for good. */
export interface DeliveryOutcome {
  retry: { index: number; reason: string }[];
  rejected: { index: number; reason: string }[];
}

/**
 * A network destination (Elasticsearch, syslog, Splunk HEC) behind a durable queue.
 * encode() is pure and runs when the finding is queued; send() resolves with the outcome of each item
 * once the destination answered, or throws a SinkError when the whole batch failed.
 */
export interface Destination {
  readonly name: string;
  /** Called once before the first send (index templates, connections); may throw a retryable SinkError. */
  start?(): Promise<void>;
  /**
   * A cheap check that the destination answers again (health endpoint, connect), used while batches
   * wait after a connection failure so that delivery resumes as soon as it is back. True if it answers.
   */
  probe?(): Promise<boolean>;
  encode(finding: Finding): EncodedFinding;
  send(batch: readonly EncodedFinding[]): Promise<DeliveryOutcome>;
  close(): Promise<void>;
}
