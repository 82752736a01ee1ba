// The Linux kernel of an opened Domain: a snapshot's from its memory and recorded vCPUs (once), a
// live guest's from its memory with translation caches dropped whenever the guest runs again.
import type { Domain } from '../introspect/domain/types.js';
import {
  openLinuxKernel,
  type LinuxKernel,
  type OpenKernelOptions,
} from '../introspect/os/linux/linux-kernel.js';
import { openLiveKernel } from '../introspect/os/linux/live-kernel.js';
import type { OpenedDomain } from './open-domain.js';

export function openGuestKernel(
  opened: OpenedDomain | Domain,
  options: OpenKernelOptions = {},
): LinuxKernel {
  const { domain, recorded } =
    'domain' in opened ? opened : { domain: opened, recorded: undefined };
  if (!recorded) return openLiveKernel(domain, options);
  return openLinuxKernel(domain.physical, recorded.vcpus, {
    architecture: recorded.architecture,
    ...options,
  });
}
