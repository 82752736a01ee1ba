export * from './types.js';
export * from './open-snapshot.js';
export { parseElfCore } from './elf-core.js';
export { parseLime, LIME_MAGIC } from './lime.js';
