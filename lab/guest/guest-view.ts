// Parses what the sample guest prints about itself on its console (samples/guest/rootfs/init): its
// processes from /proc, its modules, and selected kallsyms. Tests compare Ringside's answers with it.

export interface GuestProcess {
  pid: number;
  ppid: number;
  uid: number;
  gid: number;
  euid: number;
  /** Name from /proc/PID/status (kernel threads may show more than the 15 characters of comm). */
  name: string;
}

export interface GuestModule {
  name: string;
  size: number;
  address: bigint;
}

export interface GuestView {
  release: string;
  version: string;
  processes: GuestProcess[];
  modules: GuestModule[];
  /** kallsyms of interest, name → address. */
  symbols: Map<string, bigint>;
}

export const READY_MARKER = 'RINGSIDE-READY';

export function parseGuestView(console: string): GuestView {
  const begin = console.lastIndexOf('RINGSIDE-BEGIN');
  const end = console.indexOf(READY_MARKER, begin);
  if (begin < 0 || end < 0)
    throw new Error('the guest console has no complete RINGSIDE-BEGIN … READY block');
  const view: GuestView = {
    release: '',
    version: '',
    processes: [],
    modules: [],
    symbols: new Map(),
  };
  for (const line of console.slice(begin, end).split(/\r?\n/)) {
    const [tag, ...rest] = line.trim().split(' ');
    switch (tag) {
      case 'RINGSIDE-RELEASE':
        view.release = rest.join(' ');
        break;
      case 'RINGSIDE-VERSION':
        view.version = rest.join(' ');
        break;
      case 'RINGSIDE-PS': {
        const [pid, ppid, uid, gid, euid, ...name] = rest;
        view.processes.push({
          pid: Number(pid),
          ppid: Number(ppid),
          uid: Number(uid),
          gid: Number(gid),
          euid: Number(euid),
          name: name.join(' '),
        });
        break;
      }
      case 'RINGSIDE-MOD': {
        // name size refcount deps state address
        const [name, size, , , , address] = rest;
        view.modules.push({ name: name!, size: Number(size), address: BigInt(address!) });
        break;
      }
      case 'RINGSIDE-KSYM': {
        const [address, , name] = rest;
        if (name && address) view.symbols.set(name, BigInt(`0x${address}`));
        break;
      }
    }
  }
  return view;
}
