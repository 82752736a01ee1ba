// Volatility 3 ISF JSON: read one into a kernel profile, or write one from any TypeTable and
// SymbolTable (BTF + kallsyms) so that Volatility 3 can analyse the same guest.
export { parseIsf, readIsf } from './read-isf.js';
export type { IsfProfile, IsfReadOptions } from './read-isf.js';
export { IsfTypeTable } from './isf-type-table.js';
export { parseIsfJson, stringifyIsfJson, exactInteger } from './isf-json.js';
export type * from './isf-format.js';
export { buildIsf, writeIsf } from './write-isf.js';
export type { IsfWriteInput } from './write-isf.js';
export { GoTypeStrings } from './go-type-string.js';
export { WELL_KNOWN_SYMBOL_TYPES } from './well-known-symbols.js';
export { checkIsf } from './check-isf.js';
