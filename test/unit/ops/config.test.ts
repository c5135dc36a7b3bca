import { describe, expect, it } from '@jest/globals';
import { loadServiceConfig } from '../../../src/ops/config.js';

describe('observability settings', () => {
  it('default: port 8444 on every address, behind Kubernetes authentication', async () => {
    const config = await loadServiceConfig({});
    expect(config.observability).toMatchObject({ host: '0.0.0.0', port: 8444, auth: 'kubernetes' });
  });

  it.each(['127.0.0.1', '::1'])('auth none is accepted on loopback (%s)', async (host) => {
    const config = await loadServiceConfig({ PLACEMENT_QUOTA_OBSERVABILITY_HOST: host, PLACEMENT_QUOTA_OBSERVABILITY_AUTH: 'none' });
    expect(config.observability).toMatchObject({ host, auth: 'none' });
  });

  it.each(['0.0.0.0', '10.0.0.5', 'localhost'])('auth none on %s is refused, naming the key', async (host) => {
    await expect(loadServiceConfig({ PLACEMENT_QUOTA_OBSERVABILITY_HOST: host, PLACEMENT_QUOTA_OBSERVABILITY_AUTH: 'none' })).rejects.toThrow(
      /^invalid configuration: observability\.auth \(from .*\): "none" is allowed only with observability\.host 127\.0\.0\.1 or ::1/,
    );
  });

  it('an unknown auth mode is refused, naming the variable it came from', async () => {
    await expect(loadServiceConfig({ PLACEMENT_QUOTA_OBSERVABILITY_AUTH: 'basic' })).rejects.toThrow(/observability\.auth \(from PLACEMENT_QUOTA_OBSERVABILITY_AUTH\)/);
  });
});
