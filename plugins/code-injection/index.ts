// process.anomaly events for code injected into a process: a mapping that is executable and either
// anonymous (no file backs the code) or writable and executable at once — what ptrace injectors,
// reflective loaders and shellcode leave. The kernel's own special mappings (the vDSO, uprobes' XOL
// page) are anonymous and executable by design and are told apart by their vm_ops. Each process's
// mappings come from its maple tree (vma-walk), bounded; one event per suspicious mapping.
import { hex } from '../../introspect/memory/address.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { listTasks } from '../../introspect/os/linux/tasks.js';
import {
  listMappings,
  protection,
  VM_EXEC,
  VM_WRITE,
  type Mapping,
} from '../../introspect/os/linux/vma-walk.js';
import { processFields, userFields } from '../guest-context.js';
import {
  processKey,
  scanningDetector,
  type EventBase,
  type ScanFinding,
  type ScanOptions,
} from '../process-scan.js';
import type { DetectorPlugin } from '../types.js';

/** vm_operations of the kernel's special mappings (include/linux/mm_types.h vm_special_mapping). */
const SPECIAL_MAPPING_OPS = ['special_mapping_vmops', 'legacy_special_mapping_vmops'];

/** Whether a mapping holds code nothing on disk accounts for. */
export function suspiciousMapping(mapping: Mapping, specialOps: ReadonlySet<bigint>): boolean {
  if ((mapping.flags & VM_EXEC) === 0n) return false;
  if ((mapping.flags & VM_WRITE) !== 0n) return true;
  return mapping.file === 0n && !specialOps.has(mapping.ops);
}

/** One finding per suspicious mapping of every user process. */
export function injectedCode(kernel: LinuxKernel, base: EventBase): ScanFinding[] {
  const specialOps = new Set(
    SPECIAL_MAPPING_OPS.map((name) => kernel.symbols.address(name)).filter(
      (address): address is bigint => address !== undefined,
    ),
  );
  const findings: ScanFinding[] = [];
  for (const task of listTasks(kernel).tasks) {
    if (task.kernelThread || task.mm === 0n) continue;
    const { mappings } = listMappings(kernel, task.mm);
    for (const mapping of mappings) {
      if (!suspiciousMapping(mapping, specialOps)) continue;
      const anonymous = mapping.file === 0n;
      const rights = protection(mapping.flags);
      findings.push({
        key: `${processKey(task)}:${mapping.start.toString(16)}:${rights}`,
        event: {
          type: 'process.anomaly',
          ...base,
          process: processFields(kernel, task),
          user: userFields(task),
          details: {
            technique: 'code_injection',
            message: `${task.comm} (pid ${task.tgid}) has ${anonymous ? 'an anonymous' : 'a file-backed'} ${rights} mapping at ${hex(mapping.start)}-${hex(mapping.end)}`,
            protection: rights,
            anonymous,
            mapping_start: mapping.start,
            mapping_end: mapping.end,
            mappings: mappings.length,
          },
        },
      });
    }
  }
  return findings;
}

export const createCodeInjection = (options: ScanOptions = {}): DetectorPlugin =>
  scanningDetector(
    {
      id: 'code-injection',
      version: '1.0.0',
      description:
        'Executable anonymous or writable+executable mappings in user processes (injected code)',
      architectures: ['x86_64', 'aarch64'],
      symbols: ['init_task'],
      capabilities: { live: [true] },
      emits: ['process.anomaly'],
    },
    injectedCode,
    options,
  );

export const codeInjection = createCodeInjection();
