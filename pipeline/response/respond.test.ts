import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, Subject, toArray } from 'rxjs';
import type { Domain, DomainResponder } from '../../introspect/domain/types.js';
import type { VmiEvent } from '../../introspect/events/event.js';
import type { Finding, ResponseActionName } from '../../introspect/events/finding.js';
import { markRestorable } from '../../introspect/events/restorable.js';
import { recordUnactionable, respond, type ActionLogEntry } from './respond.js';

const dir = mkdtempSync(join(tmpdir(), 'respond-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function finding(rule: string, event: VmiEvent = { type: 'kernel.write', domain: 'g', time: 0 }) {
  return {
    id: `${rule}-0123456789abcdef`,
    timestamp: '2026-01-01T00:00:00Z',
    rule: { id: rule, name: rule },
    severity: 'high',
    message: rule,
    mitre: [],
    host: { name: 'g' },
    events: [event],
  } satisfies Finding;
}

function domainWith(responder?: Partial<DomainResponder>, calls: string[] = []): Domain {
  const base = { name: 'g' } as Domain;
  if (!responder) return base;
  return {
    ...base,
    responder: {
      writePhysical: () => undefined,
      stop: async () => void calls.push('stop'),
      dumpMemory: async (path: string) => {
        calls.push('dump');
        writeFileSync(path, 'ELF core bytes');
      },
      ...responder,
    },
  };
}

const rules = (entries: Record<string, ResponseActionName[]>) => new Map(Object.entries(entries));

describe('respond', () => {
  it('restores while the finding passes (before the next stage sees it), then pauses and dumps', async () => {
    const calls: string[] = [];
    const log: ActionLogEntry[] = [];
    const source = new Subject<Finding>();
    const event: VmiEvent = { type: 'kernel.write', domain: 'g', time: 0 };
    markRestorable(event, { restore: () => (calls.push('restore'), { restored: 'aa' }) });
    const out = lastValueFrom(
      source.pipe(
        respond({
          domain: domainWith({}, calls),
          actions: rules({ hook: ['snapshot', 'restore', 'pause'] }),
          snapshotDir: dir,
          log: (entry) => log.push(entry),
        }),
        toArray(),
      ),
    );
    source.next(finding('hook', event));
    // Synchronously, in the emission: the writer's vCPU would still be held here. (The pause is
    // asked for at once too; QEMU stops the guest as soon as the vCPU is let go.)
    expect(calls[0]).toBe('restore');
    source.next(finding('other'));
    source.complete();
    const [acted, other] = await out;
    expect(calls).toEqual(['restore', 'stop', 'dump']);
    expect(acted!.actions!.map((action) => [action.name, action.ok])).toEqual([
      ['restore', true],
      ['pause', true],
      ['snapshot', true],
    ]);
    const dump = acted!.actions![2]!.details as { path: string; sha256: string };
    expect(dump.sha256).toBe(createHash('sha256').update(readFileSync(dump.path)).digest('hex'));
    expect(other!.actions).toBeUndefined();
    expect(log.map((entry) => `${entry.rule}:${entry.action.name}:${entry.action.ok}`)).toEqual([
      'hook:restore:true',
      'hook:pause:true',
      'hook:snapshot:true',
    ]);
  });

  it('records a failed action and still delivers the finding', async () => {
    const source = new Subject<Finding>();
    const out = lastValueFrom(
      source.pipe(
        respond({
          domain: domainWith({
            dumpMemory: () => Promise.reject(new Error('disk full')),
          }),
          actions: rules({ hook: ['restore', 'snapshot'] }),
          snapshotDir: dir,
          log: () => {
            throw new Error('log down');
          },
        }),
        toArray(),
      ),
    );
    source.next(finding('hook'));
    source.complete();
    const [only] = await out;
    expect(only!.actions).toEqual([
      {
        name: 'restore',
        ok: false,
        error: expect.stringMatching(/^nothing to restore: only a trapped write/) as string,
      },
      { name: 'snapshot', ok: false, error: 'disk full' },
    ]);
  });

  it('says plainly when the backend cannot act, and offline findings say they were not acted on', async () => {
    const source = new Subject<Finding>();
    const out = lastValueFrom(
      source.pipe(
        respond({
          domain: domainWith(undefined),
          actions: rules({ hook: ['pause'] }),
          snapshotDir: dir,
          log: () => undefined,
        }),
        toArray(),
      ),
    );
    source.next(finding('hook'));
    source.complete();
    const [only] = await out;
    expect(only!.actions![0]!.error).toMatch(/^g: this backend cannot act/);
    const [offline] = recordUnactionable([finding('hook')], rules({ hook: ['restore'] }), 'no');
    expect(offline!.actions).toEqual([{ name: 'restore', ok: false, error: 'no' }]);
  });
});
