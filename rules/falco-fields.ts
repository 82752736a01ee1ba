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
  'fd.sip': 'network.source_ip',
  'fd.rip': 'network.destination_ip',
  'fd.sport': 'network.source_port',
  'fd.rport': 'network.destination_port',
  'fd.l4proto': 'network.transport',
};

/** The Ringside field a rule's field name stands for (itself, or its Falco equivalent). */
export function canonicalField(name: string): string {
  return FALCO_FIELDS[name] ?? name;
}
