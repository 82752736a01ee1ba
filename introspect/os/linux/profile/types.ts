// What Ringside needs to know about a kernel build: its symbols and its types. Sources are
// interchangeable (kallsyms + BTF from guest memory, System.map, a Volatility 3 ISF JSON).

/** A kernel symbol: link-time address plus the KASLR slide gives the run-time address. */
export interface KernelSymbol {
  name: string;
  /** Run-time (slid) virtual address. */
  address: bigint;
  /** kallsyms/System.map type letter: T t D d B b R r A … */
  type: string;
}

export interface SymbolTable {
  /** Run-time address of a symbol, or undefined when it is absent. */
  address(name: string): bigint | undefined;
  /** The symbol at or below `address`, with the offset into it; undefined below the first symbol. */
  nearest(address: bigint): { symbol: KernelSymbol; offset: bigint } | undefined;
  /** All symbols, sorted by address. */
  all(): readonly KernelSymbol[];
  readonly size: number;
  /** Optional: the first symbol strictly above `address` (a symbol's extent), without `all()`. */
  next?(address: bigint): KernelSymbol | undefined;
  /**
   * Optional, for scans over every symbol: the addresses of the symbols whose type letter is in
   * `types`, minus `base`, as numbers in address order, made without an object per symbol (exact
   * where the distance is below 2^53, which is all a scan of the kernel text looks at).
   */
  offsetsFrom?(base: bigint, types: string): Float64Array;
}

/** A type as a tagged union; references between types go through ids resolved by the TypeTable. */
export type TypeInfo =
  | { kind: 'void' }
  | { kind: 'int'; name: string; size: number; signed: boolean; bool?: boolean; char?: boolean }
  | { kind: 'float'; name: string; size: number }
  | { kind: 'pointer'; target: TypeId }
  | { kind: 'array'; element: TypeId; count: number }
  | { kind: 'struct' | 'union'; name: string; size: number; members: MemberInfo[] }
  | {
      kind: 'enum';
      name: string;
      size: number;
      signed: boolean;
      values: { name: string; value: bigint }[];
    }
  | { kind: 'typedef'; name: string; target: TypeId }
  | { kind: 'qualifier'; qualifier: 'const' | 'volatile' | 'restrict' | 'type_tag'; target: TypeId }
  | { kind: 'function'; name: string }
  | { kind: 'forward'; name: string; union: boolean };

export type TypeId = number;

export interface MemberInfo {
  /** '' for an anonymous struct/union member, whose members are reachable through it. */
  name: string;
  type: TypeId;
  /** Offset in bits from the start of the containing struct. */
  bitOffset: number;
  /** Width in bits for a bitfield, 0 otherwise. */
  bitSize: number;
}

/** Resolved location of a (possibly nested, dotted) field: `cred.uid.val`, `core_layout.base`. */
export interface FieldLocation {
  /** Byte offset from the start of the outer struct. */
  offset: number;
  /** Type of the field, with typedefs and qualifiers stripped. */
  type: TypeId;
  bitOffset: number;
  bitSize: number;
}

export interface TypeTable {
  /** A type by id; ids are those of the source (BTF ids for BTF). */
  get(id: TypeId): TypeInfo;
  /** The struct or union with this name (typedefs followed), or undefined. */
  findStruct(name: string): TypeId | undefined;
  /** Size in bytes of a type (arrays, typedefs and qualifiers followed). */
  sizeOf(id: TypeId): number;
  /** Follows typedefs and qualifiers to the underlying type id. */
  resolve(id: TypeId): TypeId;
  /**
   * Location of a dotted member path inside a struct, looking through anonymous members;
   * undefined when a component is missing.
   */
  field(struct: string, path: string): FieldLocation | undefined;
  /** Every type id the table holds (for exporters such as the ISF writer). */
  ids(): Iterable<TypeId>;
}

/** A kernel profile: what an OS reader needs. */
export interface KernelProfile {
  symbols: SymbolTable;
  types: TypeTable;
  /** The kernel's own banner (`linux_banner`), when known. */
  banner?: string;
}
