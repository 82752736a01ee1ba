// Fleet mode: an agent per host publishing guests' events to NATS JetStream, and rule workers that
// consume them and publish findings (docs/fleet.md).
export * from './agent.js';
export * from './agent-config.js';
export * from './agent-metrics.js';
export * from './guest-sources.js';
export * from './jetstream-outbox.js';
export * from './rule-worker.js';
export * from './streams.js';
export * from './subjects.js';
export * from './delivered-ids.js';
export * from './event-watch.js';
export * from './findings-forwarder.js';
export * from './leases.js';
export * from './partition-consumer.js';
export * from './partitions.js';
export * from './event-batch.js';
