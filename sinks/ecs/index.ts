export * from './document.js';
export * from './text.js';
