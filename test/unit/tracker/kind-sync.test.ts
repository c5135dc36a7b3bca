/**
 * The sync loop (list → watch → resume / relist / back off; watchdog; resume window) as tables:
 * each row scripts the placements' API answers (test/support/scripted-source.ts), runs the whole
 * tracker on a manual clock for a while, and compares the journal of requests and events, in order
 * and with their times, and the stats. SyncTargets and quotas answer as a healthy server does.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import { TrackedState } from '../../../src/state/tracked-state.js';
import { createTracker, type Tracker, type TrackerOptions, type TrackerStats } from '../../../src/tracker/tracker.js';
import type { TrackerLog } from '../../../src/tracker/log.js';
import { WatchHttpError } from '../../../src/tracker/watch-stream.js';
import { aPlacement } from '../../builders/objects.js';
import { ManualClock } from '../../support/manual-clock.js';
import { bookmarkLine, eventLine, expiredLine, ScriptedSource, type KindScript, type WatchScript } from '../../support/scripted-source.js';

const quiet: TrackerLog = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet };

const wp = (name: string): Record<string, unknown> => aPlacement(name, { requirements: { cpu: '1' }, clusters: ['c1'] });
const refused = (): WatchScript => ({ refuse: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }) });
const refusals = (count: number): WatchScript[] => Array.from({ length: count }, refused);
const initializing = (): WatchScript => ({ refuse: new WatchHttpError(429, { code: 429, message: 'storage is (re)initializing' }) });
const listRefused = { error: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }) };
const continueExpired = {
  error: new ApiException(410, 'Gone', JSON.stringify({ kind: 'Status', code: 410, reason: 'Expired', message: 'The provided continue parameter is too old' }), {}),
};
/** Open, accepted at once (a bookmark), then broken `at` ms later. */
const brokenAfter = (at: number, resourceVersion = '10'): WatchScript => ({
  lines: [{ line: bookmarkLine(resourceVersion) }],
  end: { at, type: 'fail', error: new Error('socket hang up') },
});
/** The watch cache no longer has the resourceVersion: HTTP 200, then ERROR 410. */
const expiredWatch = (resourceVersion = '10'): WatchScript => ({ lines: [{ line: expiredLine(resourceVersion) }] });
const listed = (resourceVersion: string, ...names: string[]) => ({ items: names.map(wp), resourceVersion });

interface Row {
  readonly name: string;
  readonly random: number;
  readonly options?: TrackerOptions;
  readonly placements: KindScript;
  readonly runMs: number;
  /** `<ms> <what>`: requests of the placements (`list [continue]`, `watch <resourceVersion>`) and events, in order. */
  readonly journal: readonly string[];
  readonly stats?: Partial<TrackerStats>;
  readonly keys?: readonly string[];
}

const running: Tracker[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((tracker) => tracker.stop()));
});

async function run(row: Row): Promise<{ journal: string[]; stats: TrackerStats; keys: string[] }> {
  const clock = new ManualClock();
  const source = new ScriptedSource(clock, { WorkloadPlacement: row.placements });
  const state = new TrackedState();
  const tracker = createTracker({ source, state, log: quiet, options: { ...row.options, clock: clock.now, timers: clock, random: () => row.random } });
  running.push(tracker);
  tracker.on('ready', () => source.note('ready'));
  tracker.on('unready', ({ kind, reason }) => source.note(`unready ${kind}: ${reason}`));
  tracker.on('synced', (kind, info) => {
    if (kind === 'WorkloadPlacement') source.note(`${info.relist ? 'relisted' : 'listed'} ${info.objects} at ${info.resourceVersion}, ${info.deleted} deleted`);
  });
  tracker.on('change', (kind, key, object) => {
    if (kind === 'WorkloadPlacement' && !object) source.note(`deleted ${key}`);
  });
  // start() settles only once ready or stopped; the journal says which.
  tracker.start().catch(() => undefined);
  await clock.advance(row.runMs);
  return { journal: source.journal, stats: tracker.stats(), keys: [...state.keys('WorkloadPlacement')].sort() };
}

/** `<ms> watch <resourceVersion>` at each time. */
const watchesAt = (resourceVersion: string, ...times: number[]): string[] => times.map((at) => `${at} watch ${resourceVersion}`);
/** `count` times, `step` apart, from `first`. */
const every = (first: number, step: number, count: number): number[] => Array.from({ length: count }, (_, i) => first + i * step);
const firstSync = (resourceVersion: string, objects: number): string[] => ['0 list', `0 listed ${objects} at ${resourceVersion}, 0 deleted`, '0 ready', `0 watch ${resourceVersion}`];

const rows: Row[] = [
  {
    name: 'first sync: a list, ready once every kind is listed, then a watch from the list\'s resourceVersion',
    random: 0.5,
    placements: { lists: [listed('10', 'a', 'b')] },
    runMs: 1_000,
    journal: firstSync('10', 2),
    stats: { ready: true, lists: 3, relists: 0, watches: 3, restarts: 0 },
    keys: ['team-a/a', 'team-a/b'],
  },
  {
    name: '410 → relist: out of view at once, the new list swapped in after the base delay (b deleted meanwhile is removed), back in view',
    random: 0.5,
    placements: {
      lists: [listed('10', 'a', 'b'), listed('20', 'a', 'c')],
      watches: [{ lines: [{ at: 1_000, line: eventLine('ADDED', wp('c'), '11') }, { at: 2_000, line: expiredLine('11') }] }],
    },
    runMs: 5_000,
    journal: [
      ...firstSync('10', 2),
      '2000 unready WorkloadPlacement: resourceVersion 11 expired; relisting',
      '2100 list',
      '2100 deleted team-a/b',
      '2100 relisted 2 at 20, 1 deleted',
      '2100 ready',
      '2100 watch 20',
    ],
    stats: { ready: true, lists: 4, relists: 1, expirations: 1, restarts: 1 },
    keys: ['team-a/a', 'team-a/c'],
  },
  {
    name: 'a continue token expired mid-list (410): the list starts over from its first page after the base delay',
    random: 0.5,
    placements: {
      lists: [{ items: [wp('a')], resourceVersion: '10', continueToken: 'c1' }, continueExpired, { items: [wp('a')], resourceVersion: '12', continueToken: 'c2' }, listed('12', 'b')],
    },
    runMs: 1_000,
    journal: ['0 list', '0 list c1', '100 list', '100 list c2', '100 listed 2 at 12, 0 deleted', '100 ready', '100 watch 12'],
    stats: { ready: true, lists: 3, relists: 0 },
    keys: ['team-a/a', 'team-a/b'],
  },
  {
    name: 'watchdog: a watch silent for watchdogMs (150 s after its last line) is aborted and resumed from the last resourceVersion; the kind stays in view',
    random: 0.5,
    placements: {
      lists: [listed('10', 'a')],
      watches: [{ lines: [{ line: bookmarkLine('11') }, { at: 100_000, line: eventLine('ADDED', wp('b'), '12') }] }],
    },
    runMs: 260_000,
    journal: [...firstSync('10', 1), '250100 watch 12'],
    stats: { ready: true, watchdogAborts: 1, restarts: 1, relists: 0 },
    keys: ['team-a/a', 'team-a/b'],
  },
  {
    name: 'backoff, random 0.5: 100, 200, 400, then half the 1 s cap; the count starts over once a watch is established',
    random: 0.5,
    placements: {
      lists: [listed('10', 'a')],
      watches: [...refusals(5), { lines: [{ line: bookmarkLine('10') }], end: { at: 2_000, type: 'close' } }, ...refusals(2)],
    },
    runMs: 10_000,
    journal: [...firstSync('10', 1), ...watchesAt('10', 100, 300, 700, 1200, 1700, 3700, 3800, 4000)],
    stats: { ready: true, watches: 11, restarts: 7 },
  },
  {
    name: 'backoff, random just under 1: the ceilings 199, 399, 799, then 999 (the cap), never more',
    random: 0.999,
    placements: { lists: [listed('10', 'a')], watches: refusals(6) },
    runMs: 10_000,
    journal: [...firstSync('10', 1), ...watchesAt('10', 199, 598, 1397, 2396, 3395, 4394)],
    stats: { ready: true, restarts: 6 },
  },
  {
    name: 'a clean close before the watch is established backs off (a server closing at once is not hammered)',
    random: 0.5,
    placements: { lists: [listed('10', 'a')], watches: [{ end: { type: 'close' } }, { end: { type: 'close' } }, { end: { type: 'close' } }] },
    runMs: 5_000,
    journal: [...firstSync('10', 1), ...watchesAt('10', 100, 300, 700)],
    stats: { ready: true, restarts: 3 },
  },
  {
    name: 'grace: a watch down for less than resumeGraceMs (5 s) keeps the kind in view',
    random: 0.5,
    placements: { lists: [listed('10', 'a')], watches: [brokenAfter(1_000), ...refusals(3)] },
    runMs: 10_000,
    journal: [...firstSync('10', 1), ...watchesAt('10', 1100, 1300, 1700, 2200)],
    stats: { ready: true, restarts: 4, relists: 0 },
  },
  {
    name: 'grace: a watch down for longer is out of view at resumeGraceMs, and back in view when a resumed watch is established',
    random: 0.5,
    placements: { lists: [listed('10', 'a')], watches: [brokenAfter(1_000), ...refusals(12)] },
    runMs: 10_000,
    journal: [
      ...firstSync('10', 1),
      ...watchesAt('10', 1100, 1300, 1700, 2200, 2700, 3200, 3700, 4200, 4700, 5200, 5700),
      '6000 unready WorkloadPlacement: watch down for more than 5000 ms',
      ...watchesAt('10', 6200, 6700),
      '6700 ready',
    ],
    stats: { ready: true, restarts: 13, relists: 0 },
  },
  {
    name: 'recovery: after 20 refused watches, the 410 of the restarted server is relisted within the base delay (198 ms), not the outage\'s backoff',
    random: 0.99,
    placements: { lists: [listed('10', 'a'), listed('30', 'a', 'b')], watches: [brokenAfter(1_000), ...refusals(20), expiredWatch('10')] },
    runMs: 25_000,
    journal: [
      ...firstSync('10', 1),
      ...watchesAt('10', 1198, 1594, 2386, 3376, 4366, 5356),
      '6000 unready WorkloadPlacement: watch down for more than 5000 ms',
      ...watchesAt('10', ...every(6346, 990, 14), 20206),
      '20404 list',
      '20404 relisted 2 at 30, 0 deleted',
      '20404 ready',
      '20404 watch 30',
    ],
    stats: { ready: true, expirations: 1, relists: 1 },
    keys: ['team-a/a', 'team-a/b'],
  },
  {
    name: 'recovery: the restarted server answers 429 (storage initializing), then 410: ready 1188 ms after its first answer',
    random: 0.99,
    placements: { lists: [listed('10', 'a'), listed('30', 'a')], watches: [brokenAfter(1_000), ...refusals(5), initializing(), expiredWatch('10')] },
    runMs: 10_000,
    journal: [
      ...firstSync('10', 1),
      ...watchesAt('10', 1198, 1594, 2386, 3376, 4366, 5356),
      '6000 unready WorkloadPlacement: watch down for more than 5000 ms',
      '6346 watch 10',
      '6544 list',
      '6544 relisted 1 at 30, 0 deleted',
      '6544 ready',
      '6544 watch 30',
    ],
    stats: { ready: true, expirations: 1, relists: 1 },
  },
  {
    name: 'recovery: a first sync against a server refusing lists retries at most the cap (990 ms) apart and is ready at its first answer',
    random: 0.99,
    placements: { lists: [...Array.from({ length: 8 }, () => listRefused), listed('10', 'a')] },
    runMs: 10_000,
    journal: ['0 list', '198 list', '594 list', '1386 list', '2376 list', '3366 list', '4356 list', '5346 list', '6336 list', '6336 listed 1 at 10, 0 deleted', '6336 ready', '6336 watch 10'],
    stats: { ready: true, lists: 3 },
  },
  {
    name: 'recovery: a completed relist starts the count over, so the next watch failure waits only the base delay',
    random: 0.99,
    placements: { lists: [listed('10', 'a'), listed('20', 'a')], watches: [brokenAfter(1_000), ...refusals(5), expiredWatch('10'), refused()] },
    runMs: 10_000,
    journal: [
      ...firstSync('10', 1),
      ...watchesAt('10', 1198, 1594, 2386, 3376, 4366),
      '5356 watch 10',
      '5356 unready WorkloadPlacement: resourceVersion 10 expired; relisting',
      '5554 list',
      '5554 relisted 1 at 20, 0 deleted',
      '5554 ready',
      ...watchesAt('20', 5554, 5752),
    ],
    stats: { ready: true, relists: 1 },
  },
];

describe('the sync loop, on a manual clock', () => {
  it.each(rows.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const outcome = await run(row);
    expect(outcome.journal).toEqual(row.journal);
    if (row.stats) expect(outcome.stats).toMatchObject(row.stats);
    if (row.keys) expect(outcome.keys).toEqual(row.keys);
  });
});
