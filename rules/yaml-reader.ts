// YAML with positions, for every rule-side file (rules, rule tests, Sigma): parses a file's documents,
// reports syntax errors as located diagnostics, and reads typed values that remember file:line:col.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Node, Scalar, YAMLMap } from 'yaml';
import type { DiagnosticBag } from './diagnostics.js';
import type { SourceText } from './source.js';
import { scalarSource } from './source.js';
import type { Literal, Location } from './types.js';

/** A value and where it was written. */
export interface Located<T> {
  value: T;
  at: Location;
}

/** A mapping's entries by key name, each with its key node (for positions) and value node. */
export type Entries = Map<string, { key: Node; value: Node | null }>;

/** One YAML document that parsed: its root node (null for an empty document) and where it starts. */
export interface YamlDocument {
  contents: Node | null;
  at: Location;
  /** The whole document as plain JavaScript values (aliases resolved). */
  toJS: () => unknown;
}

export class YamlReader {
  private readonly lines = new LineCounter();

  constructor(
    readonly file: string,
    readonly text: string,
    readonly bag: DiagnosticBag,
    /** Integers as bigint, so that 64-bit addresses survive (Sigma reads plain numbers). */
    private readonly intAsBigInt = true,
  ) {}

  /** The documents of the file; a document with syntax errors is reported and left out. */
  documents(): YamlDocument[] {
    const out: YamlDocument[] = [];
    const documents = parseAllDocuments(this.text, {
      lineCounter: this.lines,
      intAsBigInt: this.intAsBigInt,
    });
    for (const document of documents) {
      if (document.errors.length > 0) {
        for (const error of document.errors)
          this.bag.error(
            'YAML_SYNTAX',
            error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
            this.locate(error.pos[0]),
          );
        continue;
      }
      const contents = document.contents as Node | null;
      out.push({
        contents,
        at: this.locate(contents?.range?.[0] ?? document.range[0]),
        toJS: () => document.toJS({ maxAliasCount: 100 }),
      });
    }
    return out;
  }

  locate = (offset: number): Location => {
    const position = this.lines.linePos(offset);
    return { file: this.file, line: position.line, col: position.col };
  };

  at(node: Node | null | undefined): Location {
    return this.locate(node?.range?.[0] ?? 0);
  }

  string(node: Node | null | undefined, key: string): Located<string> | undefined {
    if (
      isScalar(node) &&
      (typeof node.value === 'string' ||
        typeof node.value === 'bigint' ||
        typeof node.value === 'number')
    )
      return { value: String(node.value), at: this.at(node) };
    this.bag.error('BAD_VALUE', `'${key}' must be a string`, this.at(node));
    return undefined;
  }

  /** A string scalar as source text whose every character maps back to its place in the file. */
  source(node: Node | null | undefined, key: string): SourceText | undefined {
    if (isScalar(node) && typeof node.value === 'string')
      return scalarSource(
        node.value.replace(/\n$/, ''),
        this.text,
        [node.range![0], node.range![1]],
        this.locate,
      );
    this.bag.error('BAD_VALUE', `'${key}' must be a string`, this.at(node));
    return undefined;
  }

  stringList(node: Node | null | undefined, key: string): Located<string>[] {
    if (isScalar(node) && typeof node.value === 'string')
      return [{ value: node.value, at: this.at(node) }];
    if (!isSeq(node)) {
      this.bag.error('BAD_VALUE', `'${key}' must be a list of strings`, this.at(node));
      return [];
    }
    const out: Located<string>[] = [];
    for (const item of node.items as Node[]) {
      const value = this.string(item, key);
      if (value !== undefined) out.push(value);
    }
    return out;
  }

  literal(node: Node | null | undefined, key: string): Literal | undefined {
    if (isScalar(node)) {
      const scalar = node as Scalar;
      if (typeof scalar.value === 'bigint' || typeof scalar.value === 'number')
        return { kind: 'number', text: scalar.source ?? String(scalar.value), at: this.at(node) };
      if (typeof scalar.value === 'string')
        return { kind: 'string', text: scalar.value, at: this.at(node) };
      if (typeof scalar.value === 'boolean')
        return { kind: 'word', text: String(scalar.value), at: this.at(node) };
    }
    this.bag.error('BAD_VALUE', `'${key}' must hold plain values`, this.at(node));
    return undefined;
  }

  literals(node: Node | null | undefined, key: string): Literal[] {
    if (!isSeq(node)) {
      this.bag.error('BAD_VALUE', `'${key}' must be a list`, this.at(node));
      return [];
    }
    const out: Literal[] = [];
    for (const item of node.items as Node[]) {
      const literal = this.literal(item, key);
      if (literal !== undefined) out.push(literal);
    }
    return out;
  }

  boolean(node: Node | null | undefined, key: string): boolean | undefined {
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    this.bag.error('BAD_VALUE', `'${key}' must be true or false`, this.at(node));
    return undefined;
  }

  entries(map: YAMLMap): Entries {
    const out: Entries = new Map();
    for (const pair of map.items) {
      const key = pair.key as Node;
      if (!isScalar(key) || typeof key.value !== 'string') {
        this.bag.error('BAD_ITEM', 'keys must be strings', this.at(key));
        continue;
      }
      out.set(key.value, { key, value: pair.value as Node | null });
    }
    return out;
  }

  /** Reports each key not in `allowed` (an error: a misspelt key must not silently do nothing). */
  checkKeys(entries: Entries, allowed: ReadonlySet<string>, what: string): boolean {
    let clean = true;
    for (const [name, { key }] of entries)
      if (!allowed.has(name)) {
        this.bag.error(
          'UNKNOWN_KEY',
          `unknown key '${name}' in ${what} (known: ${[...allowed].join(', ')})`,
          this.at(key),
        );
        clean = false;
      }
    return clean;
  }
}

/** The plain value of a YAML node (integers stay bigint when the reader made them so). */
export function nodeValue(node: unknown): unknown {
  if (isScalar(node)) return node.value;
  if (isSeq(node)) return node.items.map(nodeValue);
  if (isMap(node))
    return Object.fromEntries(
      node.items.map((pair) => [String(nodeValue(pair.key)), nodeValue(pair.value)]),
    );
  return null;
}
