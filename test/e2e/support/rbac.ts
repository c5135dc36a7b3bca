/**
 * What an identity may do, as the API server's authorizer says (`kubectl auth can-i --list`), and
 * what manifests/rbac.yaml grants, in the same words: `<resource>[.<group>][/<sub>] <verb>`, or
 * `url:<path> <verb>` for non-resource URLs. Shared by the loopback RBAC suite and the node suite.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { KubectlResult } from './cluster.js';

const manifests = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../manifests');

/** The service's namespace, where its Role lives. */
export const SYSTEM_NS = 'placement-quota-system';

/** An account of the service's groups with no binding of its own: what every such account may do. */
export const BASELINE_ACCOUNT = `system:serviceaccount:${SYSTEM_NS}:rbac-baseline`;

/**
 * `kubectl auth can-i --list` in `namespace`, through `run` (whose kubeconfig names the identity; `as`
 * impersonates another): one `resource verb` per permission.
 */
export async function canList(run: (args: string[]) => Promise<KubectlResult>, namespace: string, as?: string): Promise<Set<string>> {
  const args = ['auth', 'can-i', '--list', ...(as ? [`--as=${as}`] : []), '-n', namespace];
  const res = await run(args);
  if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${res.code}): ${res.stderr}`);
  const [header = '', ...rows] = res.stdout.split('\n').filter((line) => line.trim() !== '');
  const columns = ['Non-Resource URLs', 'Resource Names', 'Verbs'].map((title) => header.indexOf(title));
  const rules = new Set<string>();
  for (const row of rows) {
    const [resource, urls, names, verbs] = [row.slice(0, columns[0]), row.slice(columns[0], columns[1]), row.slice(columns[1], columns[2]), row.slice(columns[2])].map((cell) => cell.trim());
    const subject = resource || `url:${urls}`;
    for (const verb of (verbs ?? '').replace(/^\[|\]$/g, '').split(' ').filter(Boolean)) rules.add(`${subject}${names === '[]' ? '' : ` ${names}`} ${verb}`);
  }
  return rules;
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** manifests/rbac.yaml's grants as `can-i --list` names them: the ClusterRole everywhere, Roles in their namespace. */
export function manifestRules(namespace: string): string[] {
  const docs = parseAllDocuments(fs.readFileSync(path.join(manifests, 'rbac.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { namespace?: string }; rules?: Rule[] });
  const roles = docs.filter((d) => d.kind === 'ClusterRole' || (d.kind === 'Role' && d.metadata.namespace === namespace));
  const named = (group: string, resource: string): string => {
    const [base, sub] = resource.split('/');
    return `${base}${group ? `.${group}` : ''}${sub ? `/${sub}` : ''}`;
  };
  return [...new Set(roles.flatMap((r) => (r.rules ?? []).flatMap((rule) => rule.apiGroups.flatMap((g) => rule.resources.flatMap((res) => rule.verbs.map((v) => `${named(g, res)} ${v}`))))))];
}

/**
 * What `granted` holds beyond `baseline`, beside what the manifests grant in `namespace` beyond it,
 * both sorted: equal when the identity may do exactly what rbac.yaml says, and nothing else.
 */
export function grantsBeyond(granted: ReadonlySet<string>, baseline: ReadonlySet<string>, namespace: string): { granted: string[]; expected: string[] } {
  return {
    granted: [...granted].filter((rule) => !baseline.has(rule)).sort(),
    expected: manifestRules(namespace).filter((rule) => !baseline.has(rule)).sort(),
  };
}
