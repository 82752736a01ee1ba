// Struct copies under hostile types: a kernel's BTF comes from guest memory, so a field offset past
// the struct (or past the narrowed copy) is a typed guest-structure error, never an untyped crash.
import { GuestStructureError } from '../../errors.js';
import { identitySpace } from '../../memory/test-support/identity-space.js';
import { KernelReader } from './kernel-reader.js';
import { fakeTypes } from './test-support/fake-types.js';

const reader = (fields: Record<string, { offset: number; size?: number; count?: number }>) =>
  new KernelReader(
    identitySpace(new Uint8Array(0x4000)),
    fakeTypes({ task_struct: { size: 0x100, fields } }),
  );

describe('KernelReader.struct with hostile field offsets', () => {
  it('refuses a narrowed copy whose field lies past the struct with a typed error', () => {
    const r = reader({
      pid: { offset: 0x8, size: 4 },
      comm: { offset: 0x3000, size: 1, count: 16 },
    });
    expect(() => r.struct(0x1000n, 'task_struct', ['pid', 'comm'])).toThrow(GuestStructureError);
    expect(() => r.struct(0x1000n, 'task_struct', ['pid', 'comm'])).toThrow(
      /task_struct\.comm .*outside the struct/,
    );
  });

  it('refuses a field that starts inside the copy but ends past it', () => {
    const r = reader({ pid: { offset: 0xfc, size: 8 } });
    const copy = r.struct(0x1000n, 'task_struct');
    expect(() => copy.u64('pid')).toThrow(GuestStructureError);
  });

  it('refuses a field that the whole-struct copy does not hold', () => {
    const r = reader({ uid: { offset: 0x200, size: 4 } });
    const copy = r.struct(0x1000n, 'task_struct');
    expect(() => copy.u32('uid')).toThrow(GuestStructureError);
    expect(() => copy.value('uid')).toThrow(GuestStructureError);
    expect(() => copy.cString('uid', 16)).toThrow(GuestStructureError);
  });

  it('reads fields that lie inside the copy', () => {
    const bytes = new Uint8Array(0x4000);
    new DataView(bytes.buffer).setUint32(0x1008, 42, true);
    new TextEncoder().encodeInto('init', bytes.subarray(0x1020));
    const r = new KernelReader(
      identitySpace(bytes),
      fakeTypes({
        task_struct: {
          size: 0x100,
          fields: { pid: { offset: 0x8, size: 4 }, comm: { offset: 0x20, size: 1, count: 16 } },
        },
      }),
    );
    const copy = r.struct(0x1000n, 'task_struct', ['pid', 'comm']);
    expect(copy.value('pid')).toBe(42n);
    expect(copy.cString('comm', 16)).toBe('init');
  });
});
