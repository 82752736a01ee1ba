// `ringside profile isf <dump> -o file.json`: writes a Volatility 3 ISF (symbols and types) built from
// the kernel's own kallsyms and .BTF in a snapshot, so users can bring Volatility's plugins along.
import { RINGSIDE_VERSION } from '../version.js';
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InputError, RingsideError } from '../../introspect/errors.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { writeIsf } from '../../introspect/os/linux/isf/index.js';
import { createProgress } from '../progress.js';
import { openSnapshotKernel } from '../snapshot-context.js';

/**
 * linux_banner exactly as the kernel holds it, trailing newline included: Volatility 3 finds a
 * Linux ISF's kernel by scanning memory for these bytes (and `kernel.banner` is trimmed for display).
 */
export function bannerAsInMemory(kernel: LinuxKernel): string {
  const address = kernel.symbols.address('linux_banner');
  if (address !== undefined) {
    try {
      const raw = kernel.reader.readCString(address, 512).text;
      if (raw.trimEnd() === kernel.banner) return raw;
    } catch (error) {
      if (!(error instanceof RingsideError)) throw error;
    }
  }
  return `${kernel.banner}\n`; // init/version.c ends linux_banner with "\n"
}

export function registerProfileCommands(program: Command): void {
  const profile = program
    .command('profile')
    .description('Kernel profiles (symbols + types) for other tools');
  profile
    .command('isf')
    .description('Write a Volatility 3 ISF JSON from the kallsyms and .BTF in a snapshot')
    .argument('<dump>', 'memory snapshot (ELF core, LiME or raw)')
    .requiredOption('-o, --output <file>', 'where to write the ISF (.json)')
    .action((dump: string, options: { output: string }) => {
      const progress = createProgress();
      progress.step(`building an ISF from ${dump}`);
      let opened;
      try {
        opened = openSnapshotKernel(dump);
      } catch (error) {
        progress.abort(); // no progress line after the error line
        throw error;
      }
      const { snapshot, kernel } = opened;
      try {
        const text = writeIsf({
          types: kernel.types,
          symbols: kernel.symbols,
          banner: bannerAsInMemory(kernel),
          slide: kernel.slide,
          symbolSource: kernel.sources.symbols,
          typeSource: kernel.sources.types,
          producer: { name: 'ringside', version: RINGSIDE_VERSION },
        });
        try {
          writeFileSync(options.output, text);
        } catch (error) {
          throw new InputError(
            `cannot write (${(error as NodeJS.ErrnoException).code})`,
            options.output,
            { cause: error },
          );
        }
        progress.done();
        process.stderr.write(
          `wrote ${options.output} (${(text.length / 1048576).toFixed(1)} MiB) for ${kernel.release}\n`,
        );
      } catch (error) {
        progress.abort();
        throw error;
      } finally {
        snapshot.close();
      }
    });
}
