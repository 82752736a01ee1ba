// `ringside snapshot modxview|hooks|bpf <dump>`: the kernel objects today's rootkits hide in or hook —
// modules by view (list, mod_tree, kobjects, module memory), ftrace_ops and kprobes with their handlers, and the
// eBPF programs in prog_idr — as tables (or JSON) with the rows a detector would flag marked.
import { hex } from '../../introspect/memory/address.js';
import {
  bpfHolders,
  listBpfPrograms,
  tamperingReasons,
} from '../../introspect/os/linux/bpf-programs.js';
import { foreignHandlers, listFunctionHooks } from '../../introspect/os/linux/function-hooks.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { moduleSymbol } from '../../introspect/os/linux/module-symbols.js';
import { moduleCrossView } from '../../introspect/os/linux/module-views.js';
import { formatTable } from '../table.js';

export interface KernelObjectListing {
  name: string;
  description: string;
  list(kernel: LinuxKernel): {
    /** What --json prints. */
    json: unknown[];
    table: string;
    /** One line for stderr after the table. */
    summary: string;
    /** Structures that could not be read in full: each becomes a warning. */
    problems: string[];
  };
}

const mark = (seen: boolean): string => (seen ? 'yes' : '-');

const modxview: KernelObjectListing = {
  name: 'modxview',
  description:
    'Hidden modules: each module as seen by the module list, the module tree (mod_tree) and the module kobjects',
  list(kernel) {
    const view = moduleCrossView(kernel);
    const rows = view.modules.map((sighting) => ({
      name: sighting.module?.name ?? null,
      base: sighting.module ? hex(sighting.module.base) : null,
      size: sighting.module?.size ?? null,
      module: hex(sighting.address),
      list: sighting.views.list,
      mod_tree: view.available.includes('modTree') ? sighting.views.modTree : null,
      kobjects: view.available.includes('kobjects') ? sighting.views.kobjects : null,
      hidden: !sighting.views.list,
      ...(sighting.unreadable ? { unreadable: sighting.unreadable } : {}),
    }));
    // Module memory that no module of any view owns: a row of its own, named by the struct module
    // found inside it if any; memory the kernel is freeing (init sections, a module unloading) is
    // said so and not marked hidden.
    for (const region of view.orphanRegions ?? []) {
      const leaving = region.pendingFree !== undefined || (region.owner?.state ?? 0) >= 2;
      rows.push({
        name: region.owner?.name ?? null,
        base: hex(region.start),
        size: region.size,
        module: region.owner
          ? `${hex(region.owner.address)} (found in memory, state ${region.owner.state})`
          : region.pendingFree
            ? `(init sections pending free: ${region.pendingFree})`
            : `(memory only, allocated by ${region.caller})`,
        list: false,
        mod_tree: view.available.includes('modTree') ? false : null,
        kobjects: view.available.includes('kobjects') ? false : null,
        hidden: !leaving,
      });
    }
    const absent = (seen: boolean | null): string => (seen === null ? 'n/a' : mark(seen));
    return {
      json: rows,
      table: formatTable(
        [
          { header: 'NAME', value: (row: (typeof rows)[number]) => row.name ?? '?' },
          { header: 'SIZE', value: (row) => row.size ?? '?', align: 'right' },
          { header: 'BASE', value: (row) => row.base ?? '?' },
          { header: 'MODULE', value: (row) => row.module },
          { header: 'LIST', value: (row) => mark(row.list) },
          { header: 'MODTREE', value: (row) => absent(row.mod_tree) },
          { header: 'KOBJECT', value: (row) => absent(row.kobjects) },
          { header: 'HIDDEN', value: (row) => (row.hidden ? 'HIDDEN' : '') },
        ],
        rows,
      ),
      summary: `${view.modules.length} modules, ${view.hidden.length} hidden, ${view.orphanRegions?.length ?? 'unknown number of'} module memory regions no module owns`,
      problems: view.problems.map((problem) => problem.message),
    };
  },
};

const hooks: KernelObjectListing = {
  name: 'hooks',
  description:
    'Function hooks: ftrace_ops and kprobes, the functions they hook and where their handlers live',
  list(kernel) {
    const view = moduleCrossView(kernel);
    const modules = view.modules.flatMap((sighting) => (sighting.module ? [sighting.module] : []));
    const { hooks: found, problems } = listFunctionHooks(kernel, () => modules);
    // A handler in a module is named from the module's own symbols where it keeps them.
    const inModule = (address: bigint): string | undefined => {
      const owner = modules.find(
        (module) => address >= module.base && address < module.base + BigInt(module.size),
      );
      return owner && moduleSymbol(kernel, owner.address, address);
    };
    const rows = found.map((hook) => ({
      kind: hook.kind,
      object: hex(hook.object),
      hooked: hook.allFunctions
        ? ['*']
        : hook.targets.map((target) => target.symbol ?? hex(target.address)),
      handlers: hook.handlers.map((entry) => ({
        role: entry.role,
        address: hex(entry.address),
        where: entry.location.where,
        ...(entry.location.symbol ? { symbol: entry.location.symbol } : {}),
        ...(entry.location.module ? { module: entry.location.module } : {}),
        ...(entry.location.where === 'module' && inModule(entry.address)
          ? { module_symbol: inModule(entry.address) }
          : {}),
      })),
      foreign: foreignHandlers(hook).length > 0,
    }));
    const flagged = rows.filter((row) => row.foreign).length;
    return {
      json: rows,
      table: formatTable(
        [
          { header: 'KIND', value: (row: (typeof rows)[number]) => row.kind },
          { header: 'OBJECT', value: (row) => row.object },
          {
            header: 'HOOKED',
            value: (row) =>
              row.hooked.length > 2
                ? `${row.hooked.slice(0, 2).join(',')} +${row.hooked.length - 2}`
                : row.hooked.join(','),
          },
          {
            header: 'HANDLERS',
            value: (row) =>
              row.handlers
                .map(
                  (entry) =>
                    `${entry.role}=${entry.module_symbol ? `${entry.module_symbol} ` : ''}${entry.symbol ?? entry.address}`,
                )
                .join(' '),
          },
          { header: 'OUTSIDE', value: (row) => (row.foreign ? 'OUTSIDE-TEXT' : '') },
        ],
        rows,
      ),
      summary: `${rows.length} hooks, ${flagged} with a handler outside the kernel text`,
      problems: problems.map((problem) => problem.message),
    };
  },
};

const bpf: KernelObjectListing = {
  name: 'bpf',
  description:
    'eBPF programs (prog_idr): type, name, tag, loader uid, links, the helpers they call, and whether they can tamper',
  list(kernel) {
    const { programs, problems } = listBpfPrograms(kernel);
    const holders = bpfHolders(kernel, new Set(programs.map((program) => program.address)));
    const rows = programs.map((program) => ({
      id: program.id,
      type: program.typeName,
      name: program.name,
      tag: program.tag,
      jited: program.jited,
      instructions: program.instructions,
      uid: program.uid ?? null,
      links: program.links,
      attach_to: program.attachTo ?? null,
      helpers: program.helpers,
      ...(program.helpersPartial ? { helpers_partial: true } : {}),
      tampering: tamperingReasons(program),
      held_by: holders.get(program.address) ?? [],
      address: hex(program.address),
    }));
    const flagged = rows.filter((row) => row.tampering.length > 0).length;
    return {
      json: rows,
      table: formatTable(
        [
          { header: 'ID', value: (row: (typeof rows)[number]) => row.id, align: 'right' },
          { header: 'TYPE', value: (row) => row.type },
          { header: 'NAME', value: (row) => row.name },
          { header: 'TAG', value: (row) => row.tag },
          { header: 'UID', value: (row) => row.uid ?? '?', align: 'right' },
          {
            header: 'ATTACHED',
            value: (row) => [...row.links, ...(row.attach_to ? [row.attach_to] : [])].join(','),
          },
          { header: 'HELPERS', value: (row) => row.helpers.length, align: 'right' },
          {
            header: 'HELD BY',
            value: (row) =>
              [...new Set(row.held_by.map((holder) => `${holder.name}(${holder.pid})`))].join(','),
          },
          { header: 'TAMPERING', value: (row) => row.tampering.join('; ') },
        ],
        rows,
      ),
      summary: `${rows.length} programs, ${flagged} that can tamper`,
      problems: problems.map((problem) => problem.message),
    };
  },
};

export const KERNEL_OBJECT_LISTINGS: readonly KernelObjectListing[] = [modxview, hooks, bpf];
