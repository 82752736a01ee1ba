// BTF: the kernel's own type information, parsed from raw bytes into a TypeTable.
// See btf-type-table.ts for the parser and field-path.ts for dotted member look-ups.
export { parseBtf, BtfTypeTable } from './btf-type-table.js';
export type { BtfParseOptions, BtfVariable } from './btf-type-table.js';
export { locateField, findMember } from './field-path.js';
export { BtfKind, BTF_MAGIC } from './format.js';
export { declaredBtfLength } from './header.js';
export type { BtfHeader } from './header.js';
