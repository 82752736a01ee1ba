// Falco field names and what Ringside calls the same thing, so that Falco rule files load where the
// meaning is the same. A Falco field not listed here has no Ringside equivalent and is reported.

/** Falco field → Ringside field (same value, same type). */
export const FALCO_FIELDS: Readonly<Record<string, string>> = {
  'proc.name': 'process.name',
  'proc.pid': 'process.pid',
  'proc.ppid': 'process.ppid',
  'proc.exepath': 'process.executable',
  'proc.cmdline': 'process.command_line',
  'proc.pname': 'process.parent.name',
  'proc.pexepath': 'process.parent.executable',
  'proc.aname[0]': 'process.name',
  'proc.aname[1]': 'process.parent.name',
  'proc.aexepath[0]': 'process.executable',
  'proc.aexepath[1]': 'process.parent.executable',
  'proc.apid[1]': 'process.ppid',
  'proc.cwd': 'process.working_directory',
  'user.uid': 'user.id',
  'user.name': 'user.name',
  'group.gid': 'user.group_id',
  'group.name': 'group.name',
  'container.id': 'container.id',
  'container.name': 'container.name',
  'container.image': 'container.image',
  'container.image.repository': 'container.image.repository',
  'container.image.tag': 'container.image.tag',
  'container.privileged': 'container.privileged',
  'proc.aname[2]': 'process.parent.parent.name',
  'proc.aname[3]': 'process.parent.parent.parent.name',
  'proc.aname[4]': 'process.parent.parent.parent.parent.name',
  'proc.aname[5]': 'process.parent.parent.parent.parent.parent.name',
  'proc.args': 'process.arguments',
  'proc.exe': 'process.argv0',
  'proc.pcmdline': 'process.parent.command_line',
  // Ringside's network events are outbound connections: the guest is the client (local end), the
  // server is the remote end. Falco's s/c (server/client) and r/l (remote/local) name them so.
  'fd.sip': 'network.destination_ip',
  'fd.rip': 'network.destination_ip',
  'fd.cip': 'network.source_ip',
  'fd.lip': 'network.source_ip',
  'fd.sport': 'network.destination_port',
  'fd.rport': 'network.destination_port',
  'fd.cport': 'network.source_port',
  'fd.lport': 'network.source_port',
  'fd.l4proto': 'network.transport',
};

/**
 * Falco's `evt.type` values (system calls and the events they make) → the Ringside event type that
 * reports the same thing. Ringside sees processes start and end, credential changes, module loads
 * and connections from guest memory; the file, socket-accept and other syscalls are not observed.
 */
export const FALCO_EVENT_TYPES: Readonly<Record<string, string>> = {
  execve: 'process.exec',
  execveat: 'process.exec',
  procexit: 'process.exit',
  connect: 'network.connect',
  init_module: 'module.load',
  finit_module: 'module.load',
  delete_module: 'module.unload',
  setuid: 'cred.change',
  setreuid: 'cred.change',
  setresuid: 'cred.change',
  setgid: 'cred.change',
  setregid: 'cred.change',
  setresgid: 'cred.change',
  capset: 'cred.change',
};

/** Falco's network fields (`fd.snet = 10.0.0.0/8`: the address is in the network) → `cidr` on these. */
export const FALCO_NETWORKS: Readonly<Record<string, string>> = {
  'fd.snet': 'network.destination_ip',
  'fd.rnet': 'network.destination_ip',
  'fd.cnet': 'network.source_ip',
  'fd.lnet': 'network.source_ip',
};

/**
 * Falco's file-event system calls and fields: the file opened, renamed, deleted …, its flags and
 * descriptor. Ringside observes no file events (no hook on open and its kin), so a rule needing them
 * can never fire; lint says so with its own code (NEEDS_FILE_EVENTS) rather than "unknown field".
 * Network descriptors (fd.sip, fd.snet …) are mapped above and are not in this set.
 */
export const FALCO_FILE_SYSCALLS: ReadonlySet<string> = new Set([
  'open',
  'openat',
  'openat2',
  'creat',
  'rename',
  'renameat',
  'renameat2',
  'unlink',
  'unlinkat',
  'rmdir',
  'mkdir',
  'mkdirat',
  'chmod',
  'fchmod',
  'fchmodat',
  'chown',
  'fchown',
  'fchownat',
  'lchown',
  'symlink',
  'symlinkat',
  'link',
  'linkat',
  'truncate',
  'ftruncate',
]);

const FILE_ARGUMENTS = new Set(
  [
    'path',
    'name',
    'oldpath',
    'newpath',
    'filename',
    'target',
    'linkpath',
    'flags',
    'mode',
    'fd',
    'dirfd',
  ].map((name) => `evt.arg.${name}`),
);

/** Whether a Falco field describes a file event (an fd.* field or a file syscall's argument). */
export function isFalcoFileField(name: string): boolean {
  return (
    (name.startsWith('fd.') &&
      FALCO_FIELDS[name] === undefined &&
      FALCO_NETWORKS[name] === undefined) ||
    name.startsWith('evt.is_open_') ||
    FILE_ARGUMENTS.has(name) ||
    name === 'evt.rawarg.flags'
  );
}

/** The Ringside field a rule's field name stands for (itself, or its Falco equivalent). */
export function canonicalField(name: string): string {
  if (name === 'evt.type') return name; // its values need mapping too: check.ts does both
  return FALCO_FIELDS[name] ?? name;
}
