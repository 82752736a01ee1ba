export * from './destination.js';
export * from './sink.js';
export * from './template.js';
