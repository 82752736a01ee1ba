// The Linux kernel opened inside guest memory, as every reader and detector sees it, and the options
// of opening it. Types only, so the per-architecture openers can name them without a cycle.
import type { Architecture, ArchitectureName } from '../../arch/index.js';
import type { KernelImage } from './kernel-image.js';
import type { KernelReader } from './kernel-reader.js';
import type { SymbolTable, TypeTable } from './profile/types.js';

export interface LinuxKernel {
  /** The guest's architecture: registers, calling convention, the running task, disassembly. */
  arch: Architecture;
  banner: string;
  /** Kernel release from the banner, e.g. 6.1.0-56-cloud-amd64. */
  release: string;
  /** KASLR slide of the kernel image (run-time _text minus link-time _text). */
  slide: bigint;
  /** Physical address of _text. */
  textPhysical: bigint;
  /** Base of the direct map of physical memory (page_offset_base). */
  directMapBase: bigint;
  /** Physical address of the kernel's top-level page table (init_top_pgt; swapper_pg_dir on ARM64). */
  root: bigint;
  /**
   * The system call table's extent when it was found by a search rather than bounded by the next
   * symbol (ARM64 kernels whose kallsyms has no data symbols).
   */
  syscallTable?: { address: bigint; entries: number };
  image: KernelImage;
  symbols: SymbolTable;
  types: TypeTable;
  reader: KernelReader;
  /** Where the symbols and types came from. */
  sources: { symbols: string; types: string };
  /** Drops cached pages and translations: call it whenever the guest has run. */
  newGeneration(): void;
}

export interface OpenKernelOptions {
  /** Symbols to use instead of kallsyms (System.map, ISF), given the image to find the KASLR slide. */
  symbols?: (image: KernelImage) => SymbolTable;
  symbolsSource?: string;
  /** Types to use instead of .BTF (ISF). */
  types?: TypeTable;
  typesSource?: string;
  /** The guest's architecture when the dump says (ELF cores); otherwise x86-64, then ARM64, is tried. */
  architecture?: ArchitectureName | 'unknown';
}
