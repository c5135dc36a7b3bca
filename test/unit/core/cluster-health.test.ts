import { describe, expect, it } from '@jest/globals';
import { decisionConfigSchema } from '../../../src/api/config.js';
import { clusterHealth, isReady } from '../../../src/core/cluster-health.js';
import { ClusterRecord } from '../../../src/state/cluster-record.js';
import { formatList } from '../../../src/quantity/index.js';
import { aSyncTarget, NOW, syncTarget, type SyncTargetOptions } from '../../builders/objects.js';

const recordOf = (options: SyncTargetOptions = {}): ClusterRecord => new ClusterRecord(syncTarget(aSyncTarget('c1', options)));

describe('ClusterRecord readiness', () => {
  it.each<{ name: string; options: SyncTargetOptions; nowMs: number; health: ReturnType<typeof clusterHealth> }>([
    { name: 'Ready=True with a fresh heartbeat', options: {}, nowMs: NOW, health: { ready: true } },
    { name: 'a heartbeat exactly 3 intervals old is fresh', options: { heartbeatAgoMs: 60_000 }, nowMs: NOW, health: { ready: true } },
    {
      name: 'one millisecond later it is stale',
      options: { heartbeatAgoMs: 60_000 },
      nowMs: NOW + 1,
      health: { ready: false, why: 'is not Ready: last heartbeat 2026-11-23T11:59:00.000Z is 60s old (over 3 x 20s)' },
    },
    {
      name: 'the interval comes from the SyncTarget',
      options: { heartbeatAgoMs: 60_000, heartbeatInterval: '1m' },
      nowMs: NOW,
      health: { ready: true },
    },
    { name: 'no heartbeat ever', options: { heartbeatAgoMs: null }, nowMs: NOW, health: { ready: false, why: 'is not Ready: has never sent a heartbeat' } },
    { name: 'Ready=False, whatever the heartbeat', options: { ready: false }, nowMs: NOW, health: { ready: false, why: 'is not Ready: Ready=False (SyncerDown)' } },
  ])('$name', ({ options, nowMs, health }) => {
    const record = recordOf(options);
    expect([clusterHealth(record, nowMs), isReady(record, nowMs)]).toEqual([health, health.ready]);
  });

  it('no Ready condition at all', () => {
    const target = syncTarget(aSyncTarget('c1'));
    const record = new ClusterRecord({ ...target, status: { ...target.status, conditions: [] } });
    expect(clusterHealth(record, NOW)).toEqual({ ready: false, why: 'has no Ready condition' });
  });
});

describe('ClusterRecord.effectiveAllocatable', () => {
  it.each<{ name: string; overcommit: Record<string, string>; effective: Record<string, string> }>([
    { name: 'default ratios', overcommit: {}, effective: { cpu: '12', memory: '20615843020800m', storage: '100Gi' } },
    { name: 'configured ratios', overcommit: { cpu: '2', storage: '0.5' }, effective: { cpu: '16', memory: '20615843020800m', storage: '50Gi' } },
  ])('$name', ({ overcommit, effective }) => {
    const record = recordOf({ capacity: { cpu: '8', memory: '16Gi', storage: '100Gi' } });
    expect(formatList(record.effectiveAllocatable(decisionConfigSchema.parse({ overcommit }).overcommit))).toEqual(effective);
  });

  it('is worked out again for other ratios, and kept for the same ones', () => {
    const record = recordOf();
    const defaults = decisionConfigSchema.parse({}).overcommit;
    const doubled = decisionConfigSchema.parse({ overcommit: { cpu: '2' } }).overcommit;
    const first = record.effectiveAllocatable(defaults);
    expect([record.effectiveAllocatable(defaults) === first, formatList(record.effectiveAllocatable(doubled)).cpu, formatList(record.effectiveAllocatable(defaults)).cpu]).toEqual([
      true,
      '16',
      '12',
    ]);
  });
});
