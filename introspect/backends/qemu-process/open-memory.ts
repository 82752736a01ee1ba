// Opens a running QEMU guest's RAM through its process: the layout from the monitor when a QMP
// connection is given, else from the machine type's known layout (said so in `layoutSource`).
import { InputError } from '../../errors.js';
import type { QmpChannel } from '../qemu/qmp.js';
import { hmp } from './gdbstub.js';
import { ProcessMemory } from './process-memory.js';
import { readMaps, ramMappingOfSize } from './proc-maps.js';
import { knownLayout, layoutFromMonitor, type RamMapping } from './ram-layout.js';
import type { QemuProcess } from './qemu-processes.js';

export interface OpenedProcessMemory {
  memory: ProcessMemory;
  layoutSource: 'monitor' | 'known-layout';
  /** One line for the user when the layout was guessed from the machine type. */
  note?: string;
}

export async function openProcessMemory(
  qemu: QemuProcess,
  qmp?: QmpChannel,
): Promise<OpenedProcessMemory> {
  const name = qemu.name ?? `qemu pid ${qemu.pid}`;
  if (qmp) {
    const [ramblock, mtree] = await Promise.all([
      hmp(qmp, 'info ramblock'),
      hmp(qmp, 'info mtree -f'),
    ]);
    return {
      memory: new ProcessMemory(qemu.pid, layoutFromMonitor(ramblock, mtree), name),
      layoutSource: 'monitor',
    };
  }
  const mapping = ramMappingOfSize(readMaps(qemu.pid), qemu.ramBytes);
  if (!mapping)
    throw new InputError(
      `no single ${qemu.ramBytes >> 20n} MiB mapping in its memory map: give --qmp so QEMU says where its RAM is`,
      `pid ${qemu.pid}`,
    );
  const machine =
    qemu.machine === 'default'
      ? qemu.architecture === 'x86_64'
        ? 'pc'
        : qemu.machine
      : qemu.machine;
  const layout: RamMapping[] = knownLayout(machine, qemu.ramBytes, mapping.start);
  return {
    memory: new ProcessMemory(qemu.pid, layout, name),
    layoutSource: 'known-layout',
    note: `no QMP: RAM layout assumed from machine type ${machine} and the ${qemu.ramBytes >> 20n} MiB mapping at 0x${mapping.start.toString(16)} (give --qmp for QEMU's own map)`,
  };
}
