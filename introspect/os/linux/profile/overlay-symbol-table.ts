// A symbol table with a few extra symbols laid over another: the data symbols found by searching an
// arm64 image (init_task, sys_call_table …) over kallsyms that lacks them. Extra names win.
import { SortedSymbolTable } from './symbol-table.js';
import type { KernelSymbol, SymbolTable } from './types.js';

type WithNext = SymbolTable & { next?: (address: bigint) => KernelSymbol | undefined };

export class OverlaySymbolTable implements SymbolTable {
  private readonly extra: SortedSymbolTable;
  private merged: KernelSymbol[] | undefined;

  constructor(
    private readonly base: WithNext,
    extra: readonly KernelSymbol[],
  ) {
    this.extra = new SortedSymbolTable(extra);
  }

  get size(): number {
    return this.base.size + this.extra.size;
  }

  address(name: string): bigint | undefined {
    return this.extra.address(name) ?? this.base.address(name);
  }

  nearest(address: bigint): { symbol: KernelSymbol; offset: bigint } | undefined {
    const below = this.base.nearest(address);
    const extra = this.extra.nearest(address);
    if (!below) return extra;
    if (!extra) return below;
    return extra.symbol.address > below.symbol.address ? extra : below;
  }

  next(address: bigint): KernelSymbol | undefined {
    const base = this.base.next
      ? this.base.next(address)
      : this.base.all().find((symbol) => symbol.address > address);
    const extra = this.extra.next(address);
    if (!base) return extra;
    if (!extra) return base;
    return extra.address < base.address ? extra : base;
  }

  all(): readonly KernelSymbol[] {
    this.merged ??= [...this.base.all(), ...this.extra.all()].sort((a, b) =>
      a.address < b.address ? -1 : a.address > b.address ? 1 : 0,
    );
    return this.merged;
  }
}
