export { LibvmiDomain, libvmiCapabilities, type LibvmiDomainOptions } from './libvmi-domain.js';
export { LibvmiInstance, type LibvmiOpenOptions } from './libvmi-instance.js';
export { LibvmiPhysicalMemory } from './libvmi-memory.js';
export { LIBVMI_MISSING, libvmiAvailable, libvmiCandidates, loadLibvmi } from './bindings.js';
export type { LibvmiFunctions } from './bindings.js';
export { translateEvent, decodeRegisters } from './event-translation.js';
