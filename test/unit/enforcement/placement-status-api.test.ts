import { describe, expect, it } from '@jest/globals';
import { evictionEventBody } from '../../../src/enforcement/placement-status-api.js';

describe('evictionEventBody', () => {
  const event = { namespace: 'team-a', name: 'web', uid: 'u-1', reason: 'QuotaExceeded' as const, note: 'quota team-a/compute: cpu used 6, hard 4; evicting frees 2', reportingInstance: 'webhook-0', eventTimeMs: Date.parse('2026-11-23T12:00:00.123Z') };

  it('is a Warning Evict Event regarding the placement, named as client-go names Events', () => {
    const body = evictionEventBody(event);
    expect(body).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: `web.${(BigInt(event.eventTimeMs) * 1_000_000n).toString(16)}`, namespace: 'team-a' },
      type: 'Warning',
      action: 'Evict',
      reason: 'QuotaExceeded',
      note: event.note,
      regarding: { apiVersion: 'tmc.kcp.io/v1alpha1', kind: 'WorkloadPlacement', namespace: 'team-a', name: 'web', uid: 'u-1' },
      reportingController: 'placement-quota-webhook',
      reportingInstance: 'webhook-0',
    });
    expect(body.metadata?.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
    expect(JSON.stringify(body.eventTime)).toBe('"2026-11-23T12:00:00.123000Z"');
  });

  it('keeps the note within the 1 KiB the API allows', () => {
    expect(evictionEventBody({ ...event, note: 'x'.repeat(4000) }).note).toHaveLength(1024);
  });
});
