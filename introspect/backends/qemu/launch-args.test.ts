// The sample guest's QEMU arguments: a plain guest under TCG or KVM (the KVM check on a KVM host),
// and an attachable one always on single-threaded TCG, whatever accelerator is asked.
import { attachableArguments, type QemuLaunchOptions } from './launch-args.js';

const base: QemuLaunchOptions = { name: 'g', runDir: '/tmp/g', memoryMiB: 256, vcpus: 2 };
const after = (args: string[], flag: string): string | undefined => args[args.indexOf(flag) + 1];

describe('attachableArguments', () => {
  it('a plain guest: QEMU’s default TCG, no -cpu, no shared RAM file, no gdbstub', () => {
    const args = attachableArguments({ ...base, plain: true });
    expect(after(args, '-accel')).toBe('tcg');
    expect(args).not.toContain('-cpu');
    expect(args.join(' ')).not.toMatch(/memory-backend-file|-gdb/);
  });

  it('a plain guest under KVM: -accel kvm with the host CPU (x86 and ARM)', () => {
    const x86 = attachableArguments({ ...base, plain: true, accelerator: 'kvm' });
    expect(after(x86, '-accel')).toBe('kvm');
    expect(after(x86, '-cpu')).toBe('host');
    const arm = attachableArguments({
      ...base,
      plain: true,
      accelerator: 'kvm',
      architecture: 'aarch64',
    });
    expect(after(arm, '-cpu')).toBe('host');
  });

  it('an attachable guest stays on single-threaded TCG (its plugin needs it), KVM or not', () => {
    const args = attachableArguments({ ...base, accelerator: 'kvm' });
    expect(after(args, '-accel')).toBe('tcg,thread=single');
    expect(args).not.toContain('host');
  });
});
