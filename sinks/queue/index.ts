export * from './queue.js';
export * from './record.js';
