// Errors of the sinks: a delivery that failed as a whole (retryable or not), a full queue, a bad option.
// Messages never carry credentials: every sink redacts them before building one (see redact.ts).
import { RingsideError } from '../introspect/errors.js';

export type SinkFailure =
  | 'UNAVAILABLE' // connection refused or reset, timeout, 5xx: try again later
  | 'THROTTLED' // 429 or "server busy": try again later
  | 'REFUSED' // 4xx on the whole request (bad credentials, bad request): retried, but the sink is failing
  | 'QUEUE_FULL' // the on-disk queue reached its bound and the policy refused the finding
  | 'STORAGE' // the queue could not write to its disk (full, read-only): the finding was refused
  | 'MISCONFIGURED' // the destination answers, but not as configured (e.g. HEC acks off on the token): stop
  | 'QUEUE_CLOSED'; // written after close()

export class SinkError extends RingsideError {
  readonly failure: SinkFailure;
  readonly sink: string;
  readonly retryable: boolean;
  readonly status: number | undefined;

  constructor(
    sink: string,
    failure: SinkFailure,
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super('BACKEND', `sink ${sink}: ${message}`, options);
    this.sink = sink;
    this.failure = failure;
    this.retryable = failure === 'UNAVAILABLE' || failure === 'THROTTLED' || failure === 'REFUSED';
    this.status = options?.status;
  }
}
