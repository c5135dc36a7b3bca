import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLError } from 'yaml';
import { z } from 'zod';
import { decisionConfigSchema } from '../api/config.js';
import { fieldPath } from '../api/errors.js';
import { DEFAULT_BODY_LIMIT } from '../api/admission-review.js';

/** Where an unauthenticated listener is acceptable: only this machine reaches it. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '::1']);

/** The service's whole configuration: the decision settings plus how it runs. */
export const serviceConfigSchema = decisionConfigSchema.extend({
  host: z.string().min(1).default('0.0.0.0'),
  port: z.number().int().min(1).max(65535).default(8443),
  tls: z
    .object({ certFile: z.string().min(1).default('certs/tls.crt'), keyFile: z.string().min(1).default('certs/tls.key') })
    .prefault({}),
  /** Absent: KUBECONFIG or the in-cluster service account, as client libraries look them up. */
  kubeconfig: z.string().min(1).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  /** How long an admitted placement that never shows up in the watch keeps counting. */
  reservationTtlSeconds: z.number().positive().max(3600).default(30),
  bodyLimitBytes: z.number().int().positive().default(DEFAULT_BODY_LIMIT),
  shutdownGraceSeconds: z.number().min(0).max(300).default(10),
  /** The aggregation loop behind the reports, the metrics and the dashboard (SPEC §7). */
  reports: z
    .strictObject({
      aggregationIntervalSeconds: z.number().min(0.1).max(3600).default(30),
      historyRetentionHours: z.number().positive().max(24 * 31).default(24),
      historyMaxEntries: z.number().int().min(1).max(100_000).default(2880),
    })
    .prefault({}),
  /**
   * The second HTTPS listener, for everything that is not admission: `/metrics`, `/reports/*`,
   * `/dashboard` (SPEC §7). Behind Kubernetes authentication (TokenReview) and authorization
   * (SubjectAccessReview on the non-resource URL) by default, so it may listen on every address;
   * `auth: none` shows every tenant's usage to whoever connects, so it is refused unless the
   * listener is bound to loopback.
   */
  observability: z
    .strictObject({
      host: z.string().min(1).default('0.0.0.0'),
      port: z.number().int().min(0).max(65535).default(8444),
      auth: z.enum(['kubernetes', 'none']).default('kubernetes'),
      /** How long a token's verdict is reused: a scrape every 15 s then costs an API call every so often, not each time. */
      authCacheTtlSeconds: z.number().min(0).max(600).default(30),
      /** Verdicts remembered at most (tokens × paths); the least recently used are forgotten. */
      authCacheSize: z.number().int().min(1).max(1_000_000).default(4096),
    })
    .superRefine((value, ctx) => {
      if (value.auth === 'none' && !LOOPBACK_HOSTS.has(value.host)) {
        ctx.addIssue({ code: 'custom', path: ['auth'], message: `"none" is allowed only with observability.host 127.0.0.1 or ::1 (is ${JSON.stringify(value.host)}): without authentication anyone who reaches the port reads every tenant's usage` });
      }
    })
    .prefault({}),
});

export type ServiceConfig = z.output<typeof serviceConfigSchema>;

/** Thrown when the configuration is invalid: the message names the key, where it came from, and the rule. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Environment variables for the scalar settings; nested maps (overcommit, defaultQuota) come from the file. */
export const ENV_KEYS: Readonly<Record<string, { path: readonly string[]; type: 'string' | 'number' }>> = {
  PLACEMENT_QUOTA_HOST: { path: ['host'], type: 'string' },
  PLACEMENT_QUOTA_PORT: { path: ['port'], type: 'number' },
  PLACEMENT_QUOTA_TLS_CERT_FILE: { path: ['tls', 'certFile'], type: 'string' },
  PLACEMENT_QUOTA_TLS_KEY_FILE: { path: ['tls', 'keyFile'], type: 'string' },
  PLACEMENT_QUOTA_KUBECONFIG: { path: ['kubeconfig'], type: 'string' },
  PLACEMENT_QUOTA_LOG_LEVEL: { path: ['logLevel'], type: 'string' },
  PLACEMENT_QUOTA_RESERVATION_TTL_SECONDS: { path: ['reservationTtlSeconds'], type: 'number' },
  PLACEMENT_QUOTA_ROOM_SUGGESTIONS: { path: ['roomSuggestions'], type: 'number' },
  PLACEMENT_QUOTA_SHUTDOWN_GRACE_SECONDS: { path: ['shutdownGraceSeconds'], type: 'number' },
  PLACEMENT_QUOTA_OBSERVABILITY_HOST: { path: ['observability', 'host'], type: 'string' },
  PLACEMENT_QUOTA_OBSERVABILITY_PORT: { path: ['observability', 'port'], type: 'number' },
  PLACEMENT_QUOTA_OBSERVABILITY_AUTH: { path: ['observability', 'auth'], type: 'string' },
  PLACEMENT_QUOTA_OBSERVABILITY_AUTH_CACHE_TTL_SECONDS: { path: ['observability', 'authCacheTtlSeconds'], type: 'number' },
  PLACEMENT_QUOTA_REPORTS_INTERVAL_SECONDS: { path: ['reports', 'aggregationIntervalSeconds'], type: 'number' },
};

/** Names the config file; `--config` on the command line wins. */
export const CONFIG_FILE_ENV = 'PLACEMENT_QUOTA_CONFIG';

type Tree = Record<string, unknown>;

function setPath(tree: Tree, path: readonly string[], value: unknown): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (rest.length === 0) {
    tree[head] = value;
    return;
  }
  const child = typeof tree[head] === 'object' && tree[head] !== null ? (tree[head] as Tree) : {};
  tree[head] = child;
  setPath(child, rest, value);
}

/** Environment overrides on top of the file; a number that does not parse is left as a string for zod to name. */
function applyEnv(tree: Tree, env: NodeJS.ProcessEnv, origins: Map<string, string>): void {
  for (const [name, { path, type }] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const number = Number(raw);
    setPath(tree, path, type === 'number' && raw.trim() !== '' && !Number.isNaN(number) ? number : raw);
    origins.set(path.join('.'), name);
  }
}

/**
 * A YAML error in one line, as a person fixes it: `line L, column C: not valid YAML: <reason>`.
 * The parser's own message spans several lines (it quotes the source with a caret under it).
 */
export function yamlProblem(error: unknown): string {
  if (!(error instanceof YAMLError)) return `not valid YAML: ${String(error)}`;
  const reason = error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? error.code;
  const where = error.linePos?.[0];
  return `${where ? `line ${where.line}, column ${where.col}: ` : ''}not valid YAML: ${reason}`;
}

async function readConfigFile(file: string): Promise<Tree> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError(`config file ${file}: cannot read: ${error.code ?? error.message}`);
  });
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`config file ${file}: ${yamlProblem(error)}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${file}: expected a mapping of settings`);
  return parsed as Tree;
}

/**
 * Loads and validates the configuration: defaults, then the file (`--config` or
 * PLACEMENT_QUOTA_CONFIG), then environment variables. Unknown keys in the file are refused,
 * so a typo does not silently keep a default.
 */
export async function loadServiceConfig(env: NodeJS.ProcessEnv, file?: string): Promise<ServiceConfig> {
  const source = file ?? env[CONFIG_FILE_ENV];
  const tree = source ? await readConfigFile(source) : {};
  const origins = new Map<string, string>();
  applyEnv(tree, env, origins);
  const parsed = serviceConfigSchema.strict().safeParse(tree);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const key = fieldPath(issue.path) || '(top level)';
    const origin = origins.get(issue.path.join('.')) ?? (source ? source : 'defaults');
    return `${key} (from ${origin}): ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
}
