// The shape of a Volatility 3 ISF ("intermediate symbol format") JSON document, as dwarf2json
// writes it and volatility3/schemas/schema-6.x.json describes it.

export type IsfTypeDescriptor =
  | { kind: 'base'; name: string }
  | { kind: 'struct' | 'union' | 'class'; name: string }
  | { kind: 'enum'; name: string }
  | { kind: 'pointer'; subtype: IsfTypeDescriptor; base?: string }
  | { kind: 'array'; count: number; subtype: IsfTypeDescriptor }
  | { kind: 'function' }
  | {
      kind: 'bitfield';
      bit_length: number;
      bit_position: number;
      type: IsfTypeDescriptor;
    };

export interface IsfField {
  type: IsfTypeDescriptor;
  offset: number;
  anonymous?: boolean;
}

export interface IsfUserType {
  kind: 'struct' | 'union' | 'class';
  size: number;
  fields: Record<string, IsfField>;
}

export interface IsfBaseType {
  kind: 'void' | 'int' | 'float' | 'char' | 'bool';
  size: number;
  signed: boolean;
  endian: 'little' | 'big';
}

export interface IsfEnum {
  size: number;
  base: string;
  /** Values beyond 2^53 are bigints (written as exact JSON integers). */
  constants: Record<string, number | bigint>;
}

export interface IsfSymbol {
  /** Link-time address; a bigint, written as an exact JSON integer. */
  address: bigint | number;
  type?: IsfTypeDescriptor;
  /** Base64 of the bytes the symbol points at (linux_banner carries the banner, NUL included). */
  constant_data?: string;
  linkage_name?: string;
}

export interface IsfMetadataSource {
  kind?: 'dwarf' | 'symtab' | 'system-map';
  name?: string;
  hash_type?: 'sha256';
  hash_value?: string;
}

export interface IsfDocument {
  metadata: {
    format: string;
    producer?: { name: string; version: string; datetime?: string };
    linux?: { symbols?: IsfMetadataSource[]; types?: IsfMetadataSource[] };
    windows?: unknown;
    mac?: unknown;
  };
  base_types: Record<string, IsfBaseType>;
  user_types: Record<string, IsfUserType>;
  enums: Record<string, IsfEnum>;
  symbols: Record<string, IsfSymbol>;
}
