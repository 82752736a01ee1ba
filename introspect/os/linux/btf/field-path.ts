// Resolves a dotted member path (`cred.uid.val`, `pid_links[1].next`) inside a struct over any
// TypeTable, looking through anonymous struct/union members the way C does.
import type { FieldLocation, MemberInfo, TypeId, TypeTable } from '../profile/types.js';

/** Anonymous members nest a few levels in practice; deeper (or cyclic) nesting is not followed. */
const MAX_ANONYMOUS_DEPTH = 32;
const COMPONENT = /^([A-Za-z_$][\w$]*)((?:\[\d+\])*)$/;

export function locateField(
  types: TypeTable,
  structId: TypeId,
  path: string,
): FieldLocation | undefined {
  let current = structId;
  let bitOffset = 0;
  let bitSize = 0;
  for (const component of path.split('.')) {
    const match = COMPONENT.exec(component);
    if (match === null) return undefined;
    const found = findMember(types, types.resolve(current), match[1]!);
    if (found === undefined) return undefined;
    bitOffset += found.bitOffset;
    bitSize = found.member.bitSize;
    current = found.member.type;
    for (const index of indices(match[2]!)) {
      const array = types.get(types.resolve(current));
      if (array.kind !== 'array') return undefined;
      // A count of 0 is a flexible array member: any index is allowed.
      if (array.count !== 0 && index >= array.count) return undefined;
      bitOffset += index * types.sizeOf(array.element) * 8;
      bitSize = 0;
      current = array.element;
    }
  }
  return { offset: Math.floor(bitOffset / 8), type: types.resolve(current), bitOffset, bitSize };
}

/** A member by name directly in `containerId`, else inside its anonymous members, in order. */
export function findMember(
  types: TypeTable,
  containerId: TypeId,
  name: string,
  depth = 0,
  searched = new Set<TypeId>(),
): { member: MemberInfo; bitOffset: number } | undefined {
  // A container already searched cannot hold the name: this keeps hostile types (a struct with
  // several anonymous members of its own type) from making the search exponential.
  if (searched.has(containerId)) return undefined;
  searched.add(containerId);
  const container = types.get(containerId);
  if (container.kind !== 'struct' && container.kind !== 'union') return undefined;
  for (const member of container.members) {
    if (member.name === name) return { member, bitOffset: member.bitOffset };
  }
  if (depth >= MAX_ANONYMOUS_DEPTH) return undefined;
  for (const member of container.members) {
    if (member.name !== '') continue;
    const inner = findMember(types, types.resolve(member.type), name, depth + 1, searched);
    if (inner !== undefined) {
      return { member: inner.member, bitOffset: member.bitOffset + inner.bitOffset };
    }
  }
  return undefined;
}

function* indices(suffix: string): Iterable<number> {
  for (const match of suffix.matchAll(/\[(\d+)\]/g)) yield Number(match[1]);
}
