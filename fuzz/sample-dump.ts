// An ELF core of the sample guest taken at test time (dumps are never committed): boots the guest
// without Ringside's plugin, snapshots it over QMP, stops it, and says what the guest printed.
import { join } from 'node:path';
import type { GuestView } from '../lab/guest/guest-view.js';
import { startSampleGuest } from '../lab/guest/launch.js';

export interface SampleDump {
  /** Path of the ELF core (QEMU dump-guest-memory, with register notes). */
  path: string;
  view: GuestView;
}

/**
 * Guests are named `${RINGSIDE_GUEST_PREFIX ?? 'it-'}${name}`: on a shared machine each session runs
 * its own under its own prefix.
 */
export const guestName = (name: string): string =>
  `${process.env['RINGSIDE_GUEST_PREFIX'] ?? 'it-'}${name}`;

export async function takeSampleDump(directory: string, name: string): Promise<SampleDump> {
  const guest = await startSampleGuest({ name: guestName(name), plugin: false });
  try {
    const path = join(directory, `${name}.elf`);
    await guest.snapshot(path);
    return { path, view: guest.view };
  } finally {
    await guest.stop();
  }
}
