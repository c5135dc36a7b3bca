/**
 * The alert rules (manifests/prometheus/) through Debian's promtool: they parse and lint clean, the
 * unit tests of test/prometheus/rules.test.yaml fire each alert on synthetic series and not
 * otherwise, and the PrometheusRule carries exactly the plain rules file's groups.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { promtool } from '../../support/promtool.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const RULES = path.join(root, 'manifests/prometheus/rules.yaml');
const ALERTS = [
  'PlacementQuotaOverSoftLimit', 'PlacementQuotaNearlyFull', 'PlacementQuotaClusterNotReady', 'PlacementQuotaClusterOverLimit',
  'PlacementQuotaAdmissionSlow', 'PlacementQuotaWebhookNotReady', 'PlacementQuotaWebhookDown', 'PlacementQuotaTrackerWatchStalled', 'PlacementQuotaEvictions',
];

interface Groups {
  groups: { name: string; rules: { alert: string }[] }[];
}

describe('alert rules', () => {
  it('promtool check rules: valid, with no lint findings', async () => {
    const result = await promtool(['check', 'rules', RULES]);
    expect({ code: result.code, stderr: result.stderr, stdout: result.stdout.trim() }).toEqual({ code: 0, stderr: '', stdout: `Checking ${RULES}\n  SUCCESS: ${ALERTS.length} rules found` });
  });

  it('promtool test rules: every alert fires on the series that break it, and only then', async () => {
    const result = await promtool(['test', 'rules', path.join(root, 'test/prometheus/rules.test.yaml')]);
    expect({ code: result.code, output: `${result.stdout}${result.stderr}`.trim() }).toEqual({ code: 0, output: expect.stringMatching(/SUCCESS$/) });
  });

  it('every alert has a unit test that expects it to fire', () => {
    const tests = parse(readFileSync(path.join(root, 'test/prometheus/rules.test.yaml'), 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const fired = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    const plain = parse(readFileSync(RULES, 'utf8')) as Groups;
    expect(plain.groups.flatMap((g) => g.rules.map((r) => r.alert))).toEqual(ALERTS);
    expect([...fired].sort()).toEqual([...ALERTS].sort());
  });

  it('the PrometheusRule holds the same groups as the plain rules file', () => {
    const plain = parse(readFileSync(RULES, 'utf8')) as Groups;
    const operator = parse(readFileSync(path.join(root, 'manifests/prometheus/prometheusrule.yaml'), 'utf8')) as { kind: string; spec: Groups };
    expect(operator.kind).toBe('PrometheusRule');
    expect(operator.spec).toEqual(plain);
  });
});
