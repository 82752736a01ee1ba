import { MemoryError } from '../errors.js';
import { BufferMemory } from './buffer-memory.js';
import { DeadlineMemory, TimeBudgetError } from './deadline-memory.js';

describe('DeadlineMemory', () => {
  it('reads through until the deadline, then refuses every read with a typed MemoryError', () => {
    let clock = 0;
    const memory = new DeadlineMemory(new BufferMemory(new Uint8Array(4096)), 1000, () => clock);
    const byte = new Uint8Array(1);
    for (let read = 0; read < 1000; read++) memory.readInto(0n, byte);
    expect(memory.expired).toBe(false);
    clock = 1001;
    let refused: unknown;
    for (let read = 0; read < 1000 && !refused; read++) {
      try {
        memory.readInto(0x10n, byte);
      } catch (error) {
        refused = error;
      }
    }
    expect(refused).toBeInstanceOf(TimeBudgetError);
    expect(refused).toBeInstanceOf(MemoryError);
    expect((refused as Error).message).toMatch(/time budget of 1 s spent/);
    expect(memory.expired).toBe(true);
    expect(() => memory.readInto(0n, byte)).toThrow(TimeBudgetError);
  });

  it('passes ranges and the name of what it wraps', () => {
    const memory = new DeadlineMemory(new BufferMemory(new Uint8Array(8192), 0x1000n, 'dump'), 1);
    expect(memory.name).toBe('dump');
    expect(memory.ranges()).toEqual([{ start: 0x1000n, end: 0x3000n }]);
  });
});
