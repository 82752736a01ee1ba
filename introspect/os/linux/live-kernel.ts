// The Linux kernel of a live Domain: opened once from guest memory (kallsyms, BTF), with its
// translation caches dropped whenever the guest has run again.
import type { Domain } from '../../domain/types.js';
import { openLinuxKernel, type LinuxKernel, type OpenKernelOptions } from './linux-kernel.js';

export function openLiveKernel(domain: Domain, options: OpenKernelOptions = {}): LinuxKernel {
  const kernel = openLinuxKernel(domain.physical, [], options);
  domain.onNewGeneration(() => kernel.newGeneration());
  return kernel;
}
