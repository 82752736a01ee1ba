import { partitionFilter, partitionMapping, planOwnership } from './partitions.js';

describe('partitions', () => {
  it('maps host and guest (wildcards 1 and 2) to a partition token after the type', () => {
    expect(partitionMapping(8)).toBe(
      'mappings = { "ringside.events.*.*.*": "ringside.events.{{wildcard(1)}}.{{wildcard(2)}}.{{wildcard(3)}}.{{partition(8,1,2)}}" }',
    );
    expect(partitionFilter(3)).toBe('ringside.events.*.*.*.3');
  });

  it('a lone worker takes every free partition', () => {
    const plan = planOwnership({
      partitions: 8,
      workers: 1,
      owned: [],
      free: [0, 1, 2, 3, 4, 5, 6, 7],
      offset: 0,
    });
    expect(plan).toEqual({ release: [], acquire: [0, 1, 2, 3, 4, 5, 6, 7] });
  });

  it('a worker above its share releases the extra partitions for a newcomer', () => {
    const plan = planOwnership({
      partitions: 8,
      workers: 2,
      owned: [7, 0, 1, 2, 3, 4, 5, 6],
      free: [],
      offset: 0,
    });
    expect(plan).toEqual({ release: [4, 5, 6, 7], acquire: [] });
  });

  it('a worker below its share takes free partitions from its offset on', () => {
    const plan = planOwnership({
      partitions: 8,
      workers: 2,
      owned: [0, 1],
      free: [2, 3, 5, 6, 7],
      offset: 6,
    });
    expect(plan).toEqual({ release: [], acquire: [6, 7] });
  });

  it('shares converge: every partition owned, none twice, for 1 to 9 workers', () => {
    for (let workers = 1; workers <= 9; workers += 1) {
      const owned: number[][] = Array.from({ length: workers }, () => []);
      for (let round = 0; round < 4; round += 1)
        for (let worker = 0; worker < workers; worker += 1) {
          const taken = new Set(owned.flat());
          const free = [...Array(8).keys()].filter((p) => !taken.has(p));
          const plan = planOwnership({
            partitions: 8,
            workers,
            owned: owned[worker]!,
            free,
            offset: worker * 3,
          });
          owned[worker] = owned[worker]!.filter((p) => !plan.release.includes(p)).concat(
            plan.acquire,
          );
        }
      expect(owned.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      for (const share of owned) expect(share.length).toBeLessThanOrEqual(Math.ceil(8 / workers));
    }
  });
});
