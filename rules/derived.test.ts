import fc from 'fast-check';
import type { VmiEvent } from '../introspect/events/event.js';
import { fieldGetter } from './access.js';
import { indexedFieldDefinition } from './derived.js';

const exec = (process: Record<string, unknown>): VmiEvent =>
  ({ type: 'process.exec', domain: 'g', time: 1, process }) as VmiEvent;

describe('derived fields', () => {
  it('reads process.args[N] from argv, or else from the command line as split at spaces', () => {
    expect(fieldGetter('process.args[1]')(exec({ args: ['cp', 'a b', 'c'] }))).toBe('a b');
    expect(fieldGetter('process.args[2]')(exec({ command_line: 'cp  x' }))).toBe('x');
    expect(fieldGetter('process.args[5]')(exec({ command_line: 'cp x' }))).toBeUndefined();
    expect(fieldGetter('process.args[0]')({ type: 'module.load', domain: 'g', time: 1 })).toBe(
      undefined,
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[a ]{0,12}$/), fc.nat(6), (line, index) => {
        expect(fieldGetter(`process.args[${index}]`)(exec({ command_line: line }))).toBe(
          line.split(' ')[index],
        );
      }),
    );
  });

  it('declares process.args[N] as a string field for N below 64 only', () => {
    expect(indexedFieldDefinition('process.args[63]')?.type).toBe('string');
    expect(indexedFieldDefinition('process.args[64]')).toBeUndefined();
    expect(indexedFieldDefinition('process.args[x]')).toBeUndefined();
    expect(indexedFieldDefinition('process.name')).toBeUndefined();
  });

  it('splits one event once for process.argv0 and process.arguments', () => {
    const event = exec({ command_line: 'sh -c id' });
    expect(fieldGetter('process.argv0')(event)).toBe('sh');
    expect(fieldGetter('process.arguments')(event)).toBe('-c id');
    expect(fieldGetter('process.argv0')(exec({ command_line: 'bash' }))).toBe('bash');
  });
});
