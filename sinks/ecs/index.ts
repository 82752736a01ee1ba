export * from './document.js';
export * from './json.js';
