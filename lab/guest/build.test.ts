// The kernel matrix's series names: what users and RINGSIDE_KERNEL may say, and the refusal of the rest.
import { InputError } from '../../introspect/errors.js';
import { KERNEL_SERIES, kernelSeries } from './build.js';

describe('kernelSeries', () => {
  it('defaults to 6.1 and accepts each series of the matrix', () => {
    expect(kernelSeries(undefined)).toBe('6.1');
    expect(kernelSeries('')).toBe('6.1');
    expect(KERNEL_SERIES.map((series) => kernelSeries(series))).toEqual(['6.1', '6.12']);
  });

  it('refuses anything else as bad input naming the value', () => {
    expect(() => kernelSeries('6.6')).toThrow(InputError);
    expect(() => kernelSeries('6.6')).toThrow(/6\.6.*|unknown kernel series/);
  });
});
