import { describe, expect, it } from '@jest/globals';
import { classifyLine, type WatchEvent } from '../../../src/tracker/events.js';

const placement = { apiVersion: 'tmc.kcp.io/v1alpha1', kind: 'WorkloadPlacement', metadata: { name: 'api', namespace: 'team-a', resourceVersion: '42' } };
const line = (value: unknown): string => JSON.stringify(value);

describe('classifyLine', () => {
  it.each<[string, string, WatchEvent]>([
    ['ADDED', line({ type: 'ADDED', object: placement }), { type: 'ADDED', object: placement, resourceVersion: '42' }],
    ['MODIFIED', line({ type: 'MODIFIED', object: placement }), { type: 'MODIFIED', object: placement, resourceVersion: '42' }],
    ['DELETED', line({ type: 'DELETED', object: placement }), { type: 'DELETED', object: placement, resourceVersion: '42' }],
    [
      'BOOKMARK carries only a resourceVersion',
      line({ type: 'BOOKMARK', object: { kind: 'WorkloadPlacement', apiVersion: 'tmc.kcp.io/v1alpha1', metadata: { resourceVersion: '230' } } }),
      { type: 'BOOKMARK', resourceVersion: '230' },
    ],
    [
      'ERROR 410 from the watch cache (verified against kube-apiserver 1.33)',
      line({
        type: 'ERROR',
        object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version: 219 (220)', reason: 'Expired', code: 410 },
      }),
      { type: 'EXPIRED', message: 'too old resource version: 219 (220)' },
    ],
    ['ERROR with reason Gone and no code', line({ type: 'ERROR', object: { reason: 'Gone', message: 'gone' } }), { type: 'EXPIRED', message: 'gone' }],
    [
      'ERROR 500',
      line({ type: 'ERROR', object: { kind: 'Status', status: 'Failure', reason: 'InternalError', code: 500, message: 'etcd went away' } }),
      { type: 'ERROR', code: 500, message: 'etcd went away' },
    ],
    ['ERROR without a message', line({ type: 'ERROR', object: { code: 503 } }), { type: 'ERROR', code: 503, message: 'watch error' }],
    ['ERROR whose object is no Status', line({ type: 'ERROR', object: { code: 'x' } }), { type: 'ERROR', code: undefined, message: 'ERROR event without a Status' }],
    ['not JSON', '{"type":"ADDED","object":', { type: 'MALFORMED', reason: 'a line of the watch stream is not JSON' }],
    ['JSON but not an event', line([1, 2]), { type: 'MALFORMED', reason: 'not a watch event ({type, object})' }],
    ['an unknown type', line({ type: 'SYNC', object: placement }), { type: 'MALFORMED', reason: 'unknown watch event type "SYNC"' }],
    [
      'an object event without resourceVersion cannot be resumed after',
      line({ type: 'ADDED', object: { metadata: { name: 'api' } } }),
      { type: 'MALFORMED', reason: 'ADDED event without metadata.resourceVersion' },
    ],
    [
      'an empty resourceVersion counts as none',
      line({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '' } } }),
      { type: 'MALFORMED', reason: 'BOOKMARK event without metadata.resourceVersion' },
    ],
  ])('%s', (_name, input, expected) => {
    expect(classifyLine(input)).toEqual(expected);
  });

  it('keeps resourceVersions as the opaque strings they are', () => {
    const odd = { ...placement, metadata: { ...placement.metadata, resourceVersion: '0000abc/7' } };
    expect(classifyLine(line({ type: 'MODIFIED', object: odd }))).toMatchObject({ resourceVersion: '0000abc/7' });
  });
});
