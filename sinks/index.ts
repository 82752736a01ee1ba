// sinks/: findings out of Ringside — ECS and OCSF documents, stdout/file, Elasticsearch, syslog/CEF and
// Splunk HEC, each network sink behind its own durable queue, fanned out with per-sink health.
export * from './config.js';
export * from './credentials.js';
export * from './delivery/index.js';
export * from './ecs/index.js';
export * from './elasticsearch/index.js';
export * from './errors.js';
export * from './file/index.js';
export * from './format.js';
export * from './log.js';
export * from './ocsf/index.js';
export * from './queue/index.js';
export * from './redact.js';
export * from './splunk/index.js';
export * from './stdout/index.js';
export * from './syslog/index.js';
export type * from './types.js';
