import { EVENT_TYPES } from './event.js';
import type { EventType } from './event.js';
import { EVENT_FIELDS, EVENT_TYPE_CATALOGUE, fieldsOf } from './fields.js';

const types = Object.keys(EVENT_TYPES) as EventType[];

describe('fieldsOf', () => {
  it("gives an event type's envelope, groups and details, and nothing of the other groups", () => {
    const fields = fieldsOf('module.load');
    expect(fields).toEqual(
      expect.arrayContaining(['type', 'domain', 'module.name', 'process.pid']),
    );
    expect(fields.filter((field) => /^(network|user|lifecycle|details)\./.test(field))).toEqual([]);
    expect(fieldsOf('integrity.violation')).toEqual(
      expect.arrayContaining(['details.check', 'details.message']),
    );
    expect(fieldsOf('breakpoint').filter((field) => field.includes('.'))).toEqual(
      Object.keys(EVENT_FIELDS).filter((field) => field.startsWith('vmi.')),
    );
  });

  it('leaves no catalogue field that no event type can carry (bar those no detector fills yet)', () => {
    const carried = new Set(types.flatMap(fieldsOf));
    expect(
      Object.keys(EVENT_FIELDS).filter(
        (field) => !carried.has(field) && EVENT_FIELDS[field]?.unfilled !== true,
      ),
    ).toEqual([]);
  });

  it('names only details fields the catalogue has', () => {
    const details = types.flatMap((type) => EVENT_TYPE_CATALOGUE[type].details);
    expect(details.length).toBeGreaterThan(0);
    for (const field of details) expect(EVENT_FIELDS[field]).toBeDefined();
  });
});
