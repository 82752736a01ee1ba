export * from './event.js';
export * from './fields.js';
export * from './finding.js';
export * from './json.js';
