/**
 * The elector's loop on a fake clock and an in-memory Lease with compare-and-swap: who leads, when it
 * stops, and that two replicas never act at once. Time only moves when the test moves it.
 */
import { describe, expect, it } from '@jest/globals';
import { V1MicroTime } from '@kubernetes/client-node';
import { DEFAULT_LEADER_TIMINGS } from '../../../src/core/leader-election.js';
import { createLeaderElector, leaseRecordOf, leaseSpecOf, type LeaderElector } from '../../../src/enforcement/leader-lease.js';
import { FakeClock, type FakeTimers } from '../../builders/fake-clock.js';
import { InMemoryLease } from '../../builders/in-memory-lease.js';

const T0 = Date.parse('2026-11-23T12:00:00Z');
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

interface Replica {
  elector: LeaderElector;
  connection: ReturnType<InMemoryLease['connect']>;
  timers: FakeTimers;
}

function setUp() {
  const clock = new FakeClock(T0);
  const lease = new InMemoryLease();
  /** `<ms after T0> <replica> started|stopped`, in the order the callbacks ran. */
  const events: string[] = [];
  const replica = (identity: string): Replica => {
    const connection = lease.connect();
    const timers = clock.timers();
    const at = () => `${clock.now() - T0} ${identity}`;
    const elector = createLeaderElector({
      api: connection,
      identity,
      timings: DEFAULT_LEADER_TIMINGS,
      clock: clock.now,
      timers,
      random: () => 0,
      log: silent,
      onStartedLeading: () => events.push(`${at()} started`),
      onStoppedLeading: () => events.push(`${at()} stopped`),
    });
    return { elector, connection, timers };
  };
  /** `a` acquires the free Lease at T0, then `b` starts and finds it held. */
  const leaderAndFollower = async (): Promise<[Replica, Replica]> => {
    const [a, b] = [replica('a'), replica('b')];
    a.elector.start();
    await clock.advance(0);
    b.elector.start();
    await clock.advance(0);
    return [a, b];
  };
  return { clock, lease, events, replica, leaderAndFollower };
}

describe('leader elector', () => {
  it('acquires a free Lease at once and renews it every retry period without reading it', async () => {
    const { clock, lease, events, replica } = setUp();
    const a = replica('a');
    a.elector.start();
    await clock.advance(0);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(6_000);
    expect(events).toEqual(['0 a started']);
    expect(lease.writes.map((w) => `${w.holderIdentity} ${w.renewTimeMs - T0} ${w.leaseTransitions}`)).toEqual(['a 0 0', 'a 2000 0', 'a 4000 0', 'a 6000 0']);
    expect(lease.reads).toBe(1);
  });

  it('respects a held Lease: a second replica never leads while the first renews', async () => {
    const { clock, events, leaderAndFollower } = setUp();
    const [, b] = await leaderAndFollower();
    await clock.advance(60_000);
    expect(b.elector.isLeader()).toBe(false);
    expect(events).toEqual(['0 a started']);
  });

  it('two replicas racing for a free Lease: exactly one wins the compare-and-swap', async () => {
    const { clock, events, replica } = setUp();
    const [a, b] = [replica('a'), replica('b')];
    a.elector.start();
    b.elector.start();
    await clock.advance(10_000);
    expect([a.elector.isLeader(), b.elector.isLeader()]).toEqual([true, false]);
    expect(events).toEqual(['0 a started']);
  });

  it('lose on failed renew: the leader stops at its renew deadline, before the other may take over', async () => {
    const { clock, lease, events, leaderAndFollower } = setUp();
    const [a, b] = await leaderAndFollower();
    await clock.advance(4_000); // a renewed at 2000 and 4000
    a.connection.cut = true;
    await clock.advance(9_999);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(1);
    expect(a.elector.isLeader()).toBe(false);
    await clock.advance(30_000);
    expect(events).toEqual(['0 a started', '14000 a stopped', '20000 b started']);
    expect(lease.stored?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(b.elector.isLeader()).toBe(true);
  });

  it('a replica killed mid-term is replaced within the lease duration plus a retry', async () => {
    const { clock, events, leaderAndFollower } = setUp();
    const [a, b] = await leaderAndFollower();
    await clock.advance(3_000);
    a.timers.freeze(); // SIGKILL: no more renews, no callbacks
    await clock.advance(20_000);
    expect(events).toEqual(['0 a started', '18000 b started']);
    expect(b.elector.isLeader()).toBe(true);
  });

  it('release hands over within one retry period, and counts the transition', async () => {
    const { clock, lease, events, leaderAndFollower } = setUp();
    const [a, b] = await leaderAndFollower();
    await clock.advance(5_000);
    await a.elector.release();
    expect(lease.stored?.record).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 });
    expect(a.elector.isLeader()).toBe(false);
    await clock.advance(2_000);
    expect(events).toEqual(['0 a started', '5000 a stopped', '6000 b started']);
    expect(lease.stored?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await clock.advance(60_000);
    expect(events).toHaveLength(3); // the released replica no longer tries
    expect(b.elector.isLeader()).toBe(true);
  });

  it('a leader that finds the Lease taken stops at once, without waiting for its deadline', async () => {
    const { clock, lease, events, replica } = setUp();
    const a = replica('a');
    a.elector.start();
    await clock.advance(0);
    // Another writer took it (a replica that saw it expire during a partition, say).
    const other = lease.connect();
    const current = lease.stored;
    if (!current) throw new Error('no lease');
    await other.replace({ ...current.record, holderIdentity: 'z', leaseTransitions: 1 }, current.resourceVersion);
    await clock.advance(2_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(events).toEqual(['0 a started', '2000 a stopped']);
  });

  it('releasing a replica that never led writes nothing', async () => {
    const { clock, lease, leaderAndFollower } = setUp();
    const [, b] = await leaderAndFollower();
    await clock.advance(1_000);
    const writes = lease.writes.length;
    await b.elector.release();
    expect(lease.writes).toHaveLength(writes);
    expect(lease.stored?.record.holderIdentity).toBe('a');
  });
});

describe('Lease spec conversion', () => {
  it('writes MicroTime with six fraction digits, as the API server requires, and reads it back exactly', () => {
    const record = { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTimeMs: T0 + 123, renewTimeMs: T0 + 456, leaseTransitions: 2 };
    const spec = leaseSpecOf(record);
    expect(JSON.parse(JSON.stringify(spec))).toEqual({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      acquireTime: '2026-11-23T12:00:00.123000Z',
      renewTime: '2026-11-23T12:00:00.456000Z',
      leaseTransitions: 2,
    });
    // client-node hands MicroTime back as the string the API server sent.
    const asRead = { ...spec, acquireTime: '2026-11-23T12:00:00.123000Z', renewTime: '2026-11-23T12:00:00.456000Z' } as unknown as typeof spec;
    expect(leaseRecordOf(asRead)).toEqual(record);
    expect(leaseRecordOf({ ...spec, renewTime: new V1MicroTime(T0 + 456) })).toEqual(record);
  });

  it('reads a Lease without spec fields as client-go does: nobody holds it', () => {
    expect(leaseRecordOf(undefined)).toEqual({ holderIdentity: '', leaseDurationSeconds: 0, acquireTimeMs: 0, renewTimeMs: 0, leaseTransitions: 0 });
  });
});
