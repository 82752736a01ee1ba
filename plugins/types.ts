// The contract of a detector plugin: it declares what it needs, the host checks that before starting
// it, and it turns hooks into semantic events (and findings) on an observable. Plugins never print.
import type { Observable } from 'rxjs';
import type { VmiEvent } from '../introspect/events/event.js';
import type { Domain, DomainCapabilities } from '../introspect/domain/types.js';
import type { LinuxKernel } from '../introspect/os/linux/linux-kernel.js';

export interface PluginMeta {
  id: string;
  version: string;
  description: string;
  /** Kernel symbols the plugin needs. */
  symbols: string[];
  /** Backend capabilities it needs, each with the acceptable values. */
  capabilities: Partial<{ [K in keyof DomainCapabilities]: readonly DomainCapabilities[K][] }>;
  /** Event types it emits. */
  emits: string[];
}

export interface PluginContext {
  domain: Domain;
  kernel: LinuxKernel;
}

export interface DetectorPlugin {
  meta: PluginMeta;
  /** Starts on subscription, stops (removing its hooks) on unsubscribe. */
  start(context: PluginContext): Observable<VmiEvent>;
}
