export * from './destination.js';
export * from './sink.js';
