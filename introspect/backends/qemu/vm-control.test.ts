import { VmControl } from './vm-control.js';
import type { QmpClient } from './qmp.js';

function fakeQmp(running = true, refuseStop = false): { qmp: QmpClient; commands: string[] } {
  const commands: string[] = [];
  const qmp = {
    execute: async (command: string) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (command === 'query-status') return { running };
      commands.push(command);
      if (command === 'stop' && refuseStop) throw new Error('stop refused');
      return {};
    },
    close: () => undefined,
  } as unknown as QmpClient;
  return { qmp, commands };
}

describe('VmControl', () => {
  it('nests pauses: the guest runs again only after the last holder resumes', async () => {
    const { qmp, commands } = fakeQmp();
    const control = new VmControl('g', qmp);
    await Promise.all([control.pause(), control.pause()]);
    expect(commands).toEqual(['stop']);
    await control.resume();
    expect(commands).toEqual(['stop']);
    await control.resume();
    expect(commands).toEqual(['stop', 'cont']);
  });

  it('starts a new generation on the resume that lets the guest run', async () => {
    const { qmp } = fakeQmp();
    const control = new VmControl('g', qmp);
    let generations = 0;
    control.onNewGeneration(() => generations++);
    await control.pause();
    await control.pause();
    await control.resume();
    expect(generations).toBe(0);
    await control.resume();
    expect(generations).toBe(1);
  });

  it('keeps a guest a response action stopped stopped, whatever checks pause and resume meanwhile', async () => {
    const { qmp, commands } = fakeQmp();
    const control = new VmControl('g', qmp);
    await control.pause();
    await control.stop();
    await control.resume();
    await control.pause();
    await control.resume();
    expect(commands).toEqual(['stop', 'stop']);
  });

  it('leaves a guest it found stopped (by its user, virsh suspend) stopped after a check', async () => {
    const { qmp, commands } = fakeQmp(false);
    const control = new VmControl('g', qmp);
    let generations = 0;
    control.onNewGeneration(() => generations++);
    await control.pause();
    await control.resume();
    expect(commands).toEqual([]);
    expect(generations).toBe(0);
  });

  it('resumes nothing when the stop failed', async () => {
    const { qmp, commands } = fakeQmp(true, true);
    const control = new VmControl('g', qmp);
    await expect(control.pause()).rejects.toThrow('stop refused');
    await control.resume().catch(() => undefined);
    expect(commands).toEqual(['stop']);
  });

  it('refuses to pause without QMP, naming the guest', async () => {
    await expect(new VmControl('web-1', undefined).pause()).rejects.toThrow(
      /web-1: pausing needs a QMP/,
    );
  });
});
