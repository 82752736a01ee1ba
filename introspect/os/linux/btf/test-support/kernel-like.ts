// A small kernel-like BTF for tests: list_head, a typedef'd anonymous struct (kuid_t), cred,
// and a task_struct with bitfields, an anonymous union holding an anonymous struct, and arrays.
import { BtfBuilder } from './btf-builder.js';

/** A small kernel-like type graph: ints, list_head, an anonymous union, bitfields, typedefs. */
export function kernelLike() {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const uint = b.int('unsigned int', 4);
  const char = b.int('char', 1, { signed: true, char: true });
  const bool = b.int('_Bool', 1, { bool: true });
  const ulong = b.int('long unsigned int', 8);
  const listHeadId = b.nextId + 1; // the pointer below comes first
  const listPointer = b.pointer(listHeadId);
  const listHead = b.struct('list_head', 16, [
    { name: 'next', type: listPointer, bitOffset: 0 },
    { name: 'prev', type: listPointer, bitOffset: 64 },
  ]);
  // typedef struct { unsigned int val; } kuid_t;
  const kuidStruct = b.struct('', 4, [{ name: 'val', type: uint, bitOffset: 0 }]);
  const kuid = b.typedef('kuid_t', kuidStruct);
  const constKuid = b.qualifier('const', kuid);
  const cred = b.struct('cred', 24, [
    { name: 'usage', type: int, bitOffset: 0 },
    { name: 'uid', type: kuid, bitOffset: 32 },
    { name: 'euid', type: constKuid, bitOffset: 64 },
  ]);
  const credPointer = b.pointer(cred);
  const comm = b.array(char, 16, int);
  // union { refcount rcu_users; struct { list_head rcu; }; } anonymous, as in task_struct.
  const anonymousStruct = b.struct('', 16, [{ name: 'rcu', type: listHead, bitOffset: 0 }]);
  const anonymousUnion = b.union('', 16, [
    { name: 'rcu_users', type: int, bitOffset: 0 },
    { name: '', type: anonymousStruct, bitOffset: 0 },
  ]);
  const task = b.struct(
    'task_struct',
    96,
    [
      { name: 'state', type: uint, bitOffset: 0 },
      { name: 'in_execve', type: uint, bitOffset: 32, bitSize: 1 },
      { name: 'in_iowait', type: uint, bitOffset: 33, bitSize: 1 },
      { name: 'tasks', type: listHead, bitOffset: 64 },
      { name: 'cred', type: credPointer, bitOffset: 192 },
      { name: 'comm', type: comm, bitOffset: 256 },
      { name: '', type: anonymousUnion, bitOffset: 384 },
      { name: 'pid_links', type: b.array(listHead, 4), bitOffset: 512 },
      { name: 'exiting', type: bool, bitOffset: 640 },
    ],
    true,
  );
  const fwd = b.forward('mm_struct');
  const fwdUnion = b.forward('some_union', true);
  const mmPointer = b.pointer(fwd);
  const ulongTypedef = b.typedef('pgd_t', ulong);
  return {
    b,
    ids: {
      int,
      uint,
      char,
      bool,
      ulong,
      listPointer,
      listHead,
      kuidStruct,
      kuid,
      constKuid,
      cred,
      credPointer,
      comm,
      anonymousStruct,
      anonymousUnion,
      task,
      fwd,
      fwdUnion,
      mmPointer,
      ulongTypedef,
    },
  };
}
