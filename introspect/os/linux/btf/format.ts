// The BTF wire format of Linux (Documentation/bpf/btf.rst): kinds, record sizes and the header,
// kept as constants so the index, the decoder and the test builder share one description.

export const BTF_MAGIC = 0xeb9f;
export const BTF_HEADER_SIZE = 24;
/** struct btf_type: name_off, info, size/type. */
export const BTF_TYPE_SIZE = 12;

export const BtfKind = {
  UNKNOWN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;
export type BtfKind = (typeof BtfKind)[keyof typeof BtfKind];

export const BTF_KIND_NAMES: readonly string[] = [
  'void',
  'int',
  'ptr',
  'array',
  'struct',
  'union',
  'enum',
  'fwd',
  'typedef',
  'volatile',
  'const',
  'restrict',
  'func',
  'func_proto',
  'var',
  'datasec',
  'float',
  'decl_tag',
  'type_tag',
  'enum64',
];

/**
 * Longest name accepted, NUL excluded: the kernel's own limit (KSYM_NAME_LEN), which it checks
 * when it loads BTF. It also bounds the work on a hostile string section without NULs.
 */
export const BTF_MAX_NAME_LENGTH = 512;

/** INT encoding bits (the high byte of the INT's extra word, BTF_INT_ENCODING). */
export const BTF_INT_SIGNED = 1;
export const BTF_INT_CHAR = 2;
export const BTF_INT_BOOL = 4;

/**
 * Bytes that follow the 12-byte record of a kind with `vlen` entries, or -1 for a kind this parser
 * does not know (its length cannot be known, so nothing after it can be read).
 */
export function trailingSize(kind: number, vlen: number): number {
  switch (kind) {
    case BtfKind.INT:
    case BtfKind.VAR:
    case BtfKind.DECL_TAG:
      return 4;
    case BtfKind.ARRAY:
      return 12;
    case BtfKind.STRUCT:
    case BtfKind.UNION:
    case BtfKind.DATASEC:
    case BtfKind.ENUM64:
      return 12 * vlen;
    case BtfKind.ENUM:
    case BtfKind.FUNC_PROTO:
      return 8 * vlen;
    case BtfKind.PTR:
    case BtfKind.FWD:
    case BtfKind.TYPEDEF:
    case BtfKind.VOLATILE:
    case BtfKind.CONST:
    case BtfKind.RESTRICT:
    case BtfKind.FUNC:
    case BtfKind.FLOAT:
    case BtfKind.TYPE_TAG:
      return 0;
    default:
      return -1;
  }
}
