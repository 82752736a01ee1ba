import { identitySpace } from '../introspect/memory/test-support/identity-space.js';
import { KernelReader } from '../introspect/os/linux/kernel-reader.js';
import type { LinuxKernel } from '../introspect/os/linux/linux-kernel.js';
import { fakeTypes } from '../introspect/os/linux/test-support/fake-types.js';
import type { HookContext } from '../introspect/domain/types.js';
import {
  capturedTask,
  currentTaskCaptures,
  decodeCredentials,
  TASK_CAPTURES,
  TASK_CRED_CAPTURE,
} from './guest-context.js';

const types = fakeTypes({
  task_struct: {
    size: 0x200,
    fields: {
      pid: { offset: 0x10, size: 4 },
      tgid: { offset: 0x14, size: 4 },
      comm: { offset: 0x20, size: 1, count: 16 },
      real_parent: { offset: 0x40 },
      real_cred: { offset: 0x48 },
      flags: { offset: 0x50, size: 4 },
    },
  },
  cred: {
    size: 0x40,
    fields: {
      uid: { offset: 0x4, size: 4 },
      gid: { offset: 0x8, size: 4 },
      suid: { offset: 0xc, size: 4 },
      sgid: { offset: 0x10, size: 4 },
      euid: { offset: 0x14, size: 4 },
      egid: { offset: 0x18, size: 4 },
    },
  },
});
const kernel = {
  reader: new KernelReader(identitySpace(new Uint8Array(16)), types),
} as unknown as LinuxKernel;

const u32 = (value: number): Uint8Array => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
};
const text = (value: string, length = 16): Uint8Array => {
  const bytes = new Uint8Array(length);
  bytes.set(Buffer.from(value, 'latin1'));
  return bytes;
};
function cred(values: Record<string, number>): Uint8Array {
  const bytes = new Uint8Array(32);
  const view = new DataView(bytes.buffer);
  const base = 0x4;
  const offsets: Record<string, number> = { uid: 0x4, gid: 0x8, euid: 0x14, egid: 0x18 };
  for (const [name, value] of Object.entries(values))
    view.setUint32(offsets[name]! - base, value, true);
  return bytes;
}

describe('current-task captures', () => {
  it('ask for the task pointer, then fields through it and through the parent and creds', () => {
    const captures = currentTaskCaptures(kernel, { register: 'gs_base', perCpuOffset: 0x1ad40n })!;
    expect(captures).toHaveLength(TASK_CAPTURES);
    expect(captures[0]).toEqual({ register: 'gs_base', offset: 0x1ad40, length: 8 });
    expect(captures[4]).toEqual({
      register: 'gs_base',
      derefs: [0x1ad40, 0x40],
      offset: 0x14,
      length: 4,
    });
    expect(captures[TASK_CRED_CAPTURE]).toEqual({
      register: 'gs_base',
      derefs: [0x1ad40, 0x48],
      offset: 0x4,
      length: 32,
    });
  });

  it('are impossible where a register holds the task itself (AArch64 SP_EL0)', () => {
    expect(currentTaskCaptures(kernel, { register: 'sp_el0' })).toBeUndefined();
  });

  it('decode into the task, its parent and its credentials', () => {
    const pointer = new Uint8Array(8);
    new DataView(pointer.buffer).setBigUint64(0, 0xffff888004a00000n, true);
    const captures: HookContext['captures'] = [
      pointer,
      u32(120),
      u32(118),
      text('sh'),
      u32(99),
      text('guestctl'),
      cred({ uid: 1000, gid: 1000, euid: 0, egid: 1000 }),
      u32(0x0020_0000),
    ];
    expect(capturedTask(kernel, captures)).toEqual({
      address: 0xffff888004a00000n,
      pid: 120,
      tgid: 118,
      comm: 'sh',
      ppid: 99,
      parentName: 'guestctl',
      uid: 1000,
      gid: 1000,
      euid: 0,
      egid: 1000,
      kernelThread: true,
    });
    expect(decodeCredentials(kernel, cred({ uid: 5, gid: 6, euid: 7, egid: 8 }))).toEqual({
      uid: 5,
      gid: 6,
      euid: 7,
      egid: 8,
    });
  });

  it('say so when the task could not be read at the hook, and defer to reading when nothing was captured', () => {
    const missing: HookContext['captures'] = Array.from({ length: TASK_CAPTURES }, () => undefined);
    expect(() => capturedTask(kernel, missing)).toThrow(/could not be read at the hook/);
    expect(capturedTask(kernel, undefined)).toBeUndefined();
  });
});
