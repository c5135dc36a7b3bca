import { describe, expect, it } from '@jest/globals';
import { decisionConfigSchema } from '../../../src/api/config.js';
import { decide } from '../../../src/core/decide.js';
import { createOffThreadDecoder } from '../../../src/webhook/off-thread-decoder.js';
import { decodeReview, forDecision } from '../../../src/webhook/review-decoding.js';
import { aPlacement, aQuota, aSyncTarget, NOW, stateOf, type Manifest } from '../../builders/objects.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const config = decisionConfigSchema.parse({});
const state = stateOf(aSyncTarget('us-east-1'), aQuota('compute', { hard: { cpu: '10' } }));

const withMeta = (manifest: Manifest, extra: Record<string, unknown>): Manifest => ({ ...manifest, metadata: { ...(manifest.metadata as object), ...extra } });

describe('forDecision: what an offloaded decode keeps gives the same decision as the whole object', () => {
  it.each<[string, Manifest]>([
    ['a normal placement', aPlacement('web', { requirements: { cpu: '2' }, clusters: ['us-east-1'] })],
    ['over quota', aPlacement('web', { requirements: { cpu: '20' }, clusters: ['us-east-1'] })],
    ['100k resources (cut to 65: the same "at most 64")', aPlacement('web', { requirements: Object.fromEntries(range(100_000).map((i) => [`r${i}`, '1'])) })],
    ['65 resources, one bad (not cut)', aPlacement('web', { requirements: { ...Object.fromEntries(range(64).map((i) => [`r${i}`, '1'])), bad: 'x' } })],
    ['1,000 unknown clusters (cut to 257: the same "at most 256")', aPlacement('web', { clusters: range(1000).map((i) => `c${i}`) })],
    ['managedFields, last-applied and the kcp workspace annotation', withMeta(aPlacement('web', { clusters: ['us-east-1'] }), { managedFields: [{ manager: 'kubectl' }], annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', 'kcp.io/cluster': 'root:org' } })],
    ['30k labels (all kept: a scope may select on any)', withMeta(aPlacement('web', { clusters: ['us-east-1'] }), { labels: Object.fromEntries(range(30_000).map((i) => [`l${i}`, 'v'])) })],
    ['not an object', 'a string' as unknown as Manifest],
  ])('%s', (_name, object) => {
    const whole = decide({ operation: 'CREATE', object }, state, config, NOW);
    const kept = decide({ operation: 'CREATE', object: forDecision(object) }, state, config, NOW);
    expect(kept).toEqual(whole);
  });

  it('drops what no decision reads', () => {
    const object = withMeta(aPlacement('web'), { managedFields: [{}], annotations: { a: 'b', 'kcp.io/cluster': 'root' } });
    const kept = forDecision({ ...object, spec: { ...(object.spec as object), junk: range(10) } }) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
    expect([kept.metadata.managedFields, kept.metadata.annotations, kept.spec.junk]).toEqual([undefined, { 'kcp.io/cluster': 'root' }, undefined]);
  });
});

describe('the off-thread decoder', () => {
  it('decodes on a worker thread exactly as decodeReview with trim does, errors included', async () => {
    const decode = createOffThreadDecoder();
    const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1', kind: { group: 'tmc.kcp.io', version: 'v1alpha1', kind: 'WorkloadPlacement' }, operation: 'CREATE', object: aPlacement('web', { requirements: Object.fromEntries(range(10_000).map((i) => [`r${i}`, '1'])) }) } };
    for (const body of [Buffer.from(JSON.stringify(review)), Buffer.from('{"not json'), Buffer.from('{"apiVersion":"v1"}')]) {
      expect(await decode(body)).toEqual(decodeReview(body, { trim: true }));
    }
  }, 30_000);
});
