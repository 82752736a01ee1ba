// The contract of a detector plugin: it declares what it needs (architectures, kernel symbols,
// backend capabilities) as data, the host checks that before starting anything, and it turns hooks
// into semantic events on an observable — and, where the evidence stays in memory, judges a
// snapshot too. Plugins never print.
import type { Observable } from 'rxjs';
import type { ArchitectureName } from '../introspect/arch/index.js';
import type { EventType, VmiEvent } from '../introspect/events/event.js';
import type { Domain, DomainCapabilities } from '../introspect/domain/types.js';
import type { LinuxKernel } from '../introspect/os/linux/linux-kernel.js';
import type { CpuControlState } from '../introspect/os/linux/integrity.js';

export interface PluginMeta {
  id: string;
  version: string;
  description: string;
  /** Guest architectures the plugin understands. */
  architectures: readonly ArchitectureName[];
  /** Kernel symbols the plugin needs. */
  symbols: readonly string[];
  /** Backend capabilities it needs live, each with the acceptable values. */
  capabilities: Partial<{ [K in keyof DomainCapabilities]: readonly DomainCapabilities[K][] }>;
  /** Event types it emits. */
  emits: readonly EventType[];
}

export interface PluginContext {
  domain: Domain;
  kernel: LinuxKernel;
}

/** What a detector gets to judge a memory snapshot. */
export interface SnapshotContext {
  kernel: LinuxKernel;
  /** Names the guest in events. */
  domain: string;
  /** Control registers per vCPU, when the snapshot recorded them. */
  cpus: readonly CpuControlState[];
  /** Wall-clock time the snapshot was taken, for the events. */
  timestamp: string;
}

export interface DetectorPlugin {
  meta: PluginMeta;
  /** Starts on subscription, stops (removing its hooks) on unsubscribe. */
  start(context: PluginContext): Observable<VmiEvent>;
  /** Judges a snapshot with what memory alone shows; absent when the detector needs a live guest. */
  judge?(context: SnapshotContext): Promise<VmiEvent[]>;
}
