export * from './backoff.js';
export * from './dead-letter.js';
export * from './fanout.js';
export * from './metrics-file.js';
export * from './queued-sink.js';
export * from './status.js';
export * from './delivery-state.js';
