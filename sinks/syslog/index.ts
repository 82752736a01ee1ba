export * from './cef.js';
export * from './destination.js';
export * from './message.js';
export * from './rfc5424.js';
export * from './sink.js';
