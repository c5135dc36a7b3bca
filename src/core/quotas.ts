import type { DecisionConfig } from '../api/config.js';
import type { WorkspaceQuota } from '../api/resources.js';
import { selectorMatches } from './selector.js';
import type { QuotaLimits, StateView } from './view.js';
import { objectKey } from './workspace.js';

/** Key the default quota of a workspace is tracked under. */
export const defaultQuotaKey = (workspace: string): string => `${workspace}/`;

/** Whether a quota key names a workspace's default quota (no object behind it). */
export const isDefaultQuotaKey = (key: string): boolean => key.endsWith('/');

/** The workspace part of a quota or placement key (`<workspace>/<name>`). */
export const workspaceOfKey = (key: string): string => key.slice(0, key.lastIndexOf('/'));

/** The limits of a WorkspaceQuota object as decisions read them. */
export function quotaLimits(quota: WorkspaceQuota): QuotaLimits {
  const key = objectKey(quota.metadata);
  return { key, label: `quota ${key}`, hard: quota.spec.hard, soft: quota.spec.soft, scopeSelector: quota.spec.scopeSelector };
}

/** The quotas a placement must fit: every scoped match, or the default quota for a bare workspace. */
export function applicableQuotas(
  view: StateView,
  workspace: string,
  labels: Readonly<Record<string, string>>,
  config: DecisionConfig,
): QuotaLimits[] {
  const quotas = view.quotas(workspace);
  if (quotas.length > 0) return quotas.filter((quota) => selectorMatches(quota.scopeSelector, labels));
  if (!config.defaultQuota.enabled) return [];
  const { hard, soft } = config.defaultQuota;
  return [{ key: defaultQuotaKey(workspace), label: `default quota of workspace ${workspace}`, hard, soft }];
}
