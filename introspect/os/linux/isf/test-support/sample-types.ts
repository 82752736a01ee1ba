// A BTF type table and symbols for ISF writer tests: kernelLike() plus enums, function pointers,
// bitfields and typedef'd anonymous structs that the Debian 6.1 dwarf2json ISF also holds.
import { parseBtf } from '../../btf/btf-type-table.js';
import type { BtfTypeTable } from '../../btf/btf-type-table.js';
import { kernelLike } from '../../btf/test-support/kernel-like.js';
import { SortedSymbolTable } from '../../profile/symbol-table.js';

export const SLIDE = 0x1c00000n;
export const BANNER =
  'Linux version 6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP\n';

/** kernelLike() plus the kinds it lacks: enums, function pointers, a per-CPU variable. */
export function sample(): BtfTypeTable {
  const { b, ids } = kernelLike();
  const u64 = b.typedef('u64', b.int('long long unsigned int', 8));
  const uid = b.typedef('uid_t', ids.uint);
  // typedef struct { uid_t val; } kuid2_t: dwarf2json names the struct unnamed_dfe4555410daaa7e.
  b.typedef('kuid2_t', b.struct('', 4, [{ name: 'val', type: uid, bitOffset: 0 }]));
  // An anonymous struct of two u64 bitfields, also in the 6.1 ISF: unnamed_00a1aa03b36d0215.
  const bits = b.struct(
    '',
    8,
    [
      { name: 'reserved0', type: u64, bitOffset: 0, bitSize: 62 },
      { name: 'device_type', type: u64, bitOffset: 62, bitSize: 2 },
    ],
    true,
  );
  const state = b.enum('task_state', 4, [
    ['RUNNING', 0],
    ['BLOCKED', 2],
  ]);
  const anonymousEnum = b.enum('', 4, [['MINUS', -1]], true);
  const wide = b.enum64('perf_context', 8, [['PERF_CONTEXT_MAX', -4095n]]);
  const proto = b.funcProto(ids.int, [
    { name: 'task', type: b.pointer(ids.task) },
    { name: '', type: 0 },
  ]);
  const handler = b.pointer(proto);
  b.struct('holder', 40, [
    { name: 'state', type: state, bitOffset: 0 },
    { name: 'flag', type: anonymousEnum, bitOffset: 32 },
    { name: 'handler', type: handler, bitOffset: 64 },
    { name: 'bits', type: bits, bitOffset: 128 },
    { name: 'wide', type: wide, bitOffset: 192 },
    { name: 'list', type: b.typedef('list_t', ids.listHead), bitOffset: 256 },
  ]);
  b.variable('runqueues', ids.listHead);
  b.func('do_exit', proto);
  return parseBtf(b.build());
}

export const symbols = new SortedSymbolTable([
  { name: 'init_task', address: 0xffffffff82e0f940n + SLIDE, type: 'D' },
  { name: 'modules', address: 0xffffffff82f10060n + SLIDE, type: 'd' },
  { name: 'do_exit', address: 0xffffffff810a1b20n + SLIDE, type: 'T' },
  { name: 'linux_banner', address: 0xffffffff82000000n + SLIDE, type: 'R' },
  { name: 'init_mm', address: 0xffffffff82f20000n + SLIDE, type: 'D' },
  { name: 'runqueues', address: 0x31980n, type: 'D' },
]);
