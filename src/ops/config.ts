import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { parse as parseYaml, YAMLError } from 'yaml';
import { z } from 'zod';
import { decisionConfigSchema } from '../api/config.js';
import { fieldPath } from '../api/errors.js';
import { DEFAULT_BODY_LIMIT } from '../api/admission-review.js';
import { enforcementModes } from '../api/resources.js';
import { timingsProblem } from '../core/leader-election.js';

/** SPEC §6: what the eviction loop does and how often. Soft by default: a new install never evicts by surprise. */
const enforcementSchema = z
  .strictObject({
    /** For a WorkspaceQuota without spec.enforcementMode. */
    defaultMode: z.enum(enforcementModes).default('Soft'),
    /** For cluster violations (capacity, NotReady). */
    clusterMode: z.enum(enforcementModes).default('Soft'),
    notReadyGraceSeconds: z.number().min(0).max(86_400).default(300),
    intervalSeconds: z.number().positive().max(3600).default(60),
    /** Status writes per round; the rest follow in the next round, so a big violation cannot flood the API server. */
    maxWritesPerRound: z.number().int().positive().max(10_000).default(50),
    /** How long after a relevant change a round runs, so a burst of events makes one round. */
    debounceMs: z.number().int().min(0).max(60_000).default(1000),
  })
  .prefault({});

/**
 * Status aggregation across clusters (SPEC §7, docs/status-aggregation.md): how entries are judged
 * and how fast the leader writes the result.
 */
const statusAggregationSchema = z
  .strictObject({
    /** An entry whose lastUpdated is older than this is stale: reported, but not counted as running. */
    staleAfterSeconds: z.number().positive().max(86_400).default(300),
    /** The Priority strategy's order: the first cluster listed that reported wins; unlisted ones follow by name. */
    clusterPriority: z.array(z.string().min(1)).max(1024).superRefine(uniqueNames).default([]),
    /** Quiet time after a placement's last change before its status is written: a burst of syncer writes makes one write. */
    debounceMs: z.number().int().min(0).max(60_000).default(500),
    /** Status writes per second at most, so a new leader's catch-up cannot flood the API server. */
    maxWritesPerSecond: z.number().positive().max(1000).default(20),
    /** How often entries are re-checked for going stale (time passing changes the result without any event). */
    recheckSeconds: z.number().positive().max(3600).default(10),
  })
  .prefault({});

function uniqueNames(names: readonly string[], context: z.RefinementCtx): void {
  const seen = new Set<string>();
  for (const [i, name] of names.entries()) {
    if (seen.has(name)) context.addIssue({ code: 'custom', path: [i], message: `${name} is listed twice` });
    seen.add(name);
  }
}

/** The Lease one replica holds to run enforcement (client-go's timings by default). */
const leaderElectionSchema = z
  .strictObject({
    namespace: z.string().min(1).default('placement-quota-system'),
    name: z.string().min(1).default('placement-quota-webhook'),
    leaseDurationSeconds: z.number().positive().default(15),
    renewDeadlineSeconds: z.number().positive().default(10),
    retryPeriodSeconds: z.number().positive().default(2),
    /** Unique per replica; loadServiceConfig fills it from POD_NAME, else `<hostname>-<pid>`. */
    identity: z.string().min(1).optional(),
  })
  .prefault({})
  .superRefine((election, context) => {
    const problem = timingsProblem(leaderTimingsOf(election));
    if (problem) context.addIssue({ code: 'custom', message: problem });
  });

interface ElectionSeconds {
  readonly leaseDurationSeconds: number;
  readonly renewDeadlineSeconds: number;
  readonly retryPeriodSeconds: number;
}

/** The configured timings in the units the elector takes. */
export function leaderTimingsOf(election: ElectionSeconds): { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number } {
  return {
    leaseDurationMs: election.leaseDurationSeconds * 1000,
    renewDeadlineMs: election.renewDeadlineSeconds * 1000,
    retryPeriodMs: election.retryPeriodSeconds * 1000,
  };
}

/** Where an unauthenticated listener is acceptable: only this machine reaches it. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '::1']);

/** The service's whole configuration: the decision settings plus how it runs. */
export const serviceConfigSchema = decisionConfigSchema.extend({
  host: z.string().min(1).default('0.0.0.0'),
  port: z.number().int().min(1).max(65535).default(8443),
  /**
   * Strict: a misspelt `clientCAFile` must stop the process, not silently leave the admission path open.
   * `clientCAFile` set: the admission path answers only callers whose client certificate that CA
   * signed (the API server, through its AdmissionConfiguration kubeconfig; docs/install.md).
   * `clientNames` narrows that to certificates whose subject CN or a DNS SAN is one of the names.
   */
  tls: z
    .strictObject({
      certFile: z.string().min(1).default('certs/tls.crt'),
      keyFile: z.string().min(1).default('certs/tls.key'),
      clientCAFile: z.string().min(1).optional(),
      clientNames: z.array(z.string().min(1)).min(1).optional(),
    })
    .refine((tls) => tls.clientNames === undefined || tls.clientCAFile !== undefined, {
      message: 'clientNames needs clientCAFile: without a CA no client certificate is verified',
      path: ['clientNames'],
    })
    .prefault({}),
  /** Absent: KUBECONFIG or the in-cluster service account, as client libraries look them up. */
  kubeconfig: z.string().min(1).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  /** How long an admitted placement that never shows up in the watch keeps counting. */
  reservationTtlSeconds: z.number().positive().max(3600).default(30),
  /**
   * Of a quota's headroom left after an admission, the part a replica claims as its share and admits
   * from without contending with the others (docs/consistency.md, "Shares"); 0 turns shares off.
   */
  quotaShareFraction: z.number().min(0).max(1).default(0.5),
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
  enforcement: enforcementSchema,
  leaderElection: leaderElectionSchema,
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
  statusAggregation: statusAggregationSchema,
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
  PLACEMENT_QUOTA_TLS_CLIENT_CA_FILE: { path: ['tls', 'clientCAFile'], type: 'string' },
  PLACEMENT_QUOTA_KUBECONFIG: { path: ['kubeconfig'], type: 'string' },
  PLACEMENT_QUOTA_LOG_LEVEL: { path: ['logLevel'], type: 'string' },
  PLACEMENT_QUOTA_RESERVATION_TTL_SECONDS: { path: ['reservationTtlSeconds'], type: 'number' },
  PLACEMENT_QUOTA_SHARE_FRACTION: { path: ['quotaShareFraction'], type: 'number' },
  PLACEMENT_QUOTA_ROOM_SUGGESTIONS: { path: ['roomSuggestions'], type: 'number' },
  PLACEMENT_QUOTA_SHUTDOWN_GRACE_SECONDS: { path: ['shutdownGraceSeconds'], type: 'number' },
  PLACEMENT_QUOTA_OBSERVABILITY_HOST: { path: ['observability', 'host'], type: 'string' },
  PLACEMENT_QUOTA_OBSERVABILITY_PORT: { path: ['observability', 'port'], type: 'number' },
  PLACEMENT_QUOTA_OBSERVABILITY_AUTH: { path: ['observability', 'auth'], type: 'string' },
  PLACEMENT_QUOTA_OBSERVABILITY_AUTH_CACHE_TTL_SECONDS: { path: ['observability', 'authCacheTtlSeconds'], type: 'number' },
  PLACEMENT_QUOTA_REPORTS_INTERVAL_SECONDS: { path: ['reports', 'aggregationIntervalSeconds'], type: 'number' },
  PLACEMENT_QUOTA_LEASE_NAMESPACE: { path: ['leaderElection', 'namespace'], type: 'string' },
  PLACEMENT_QUOTA_LEASE_NAME: { path: ['leaderElection', 'name'], type: 'string' },
};

/** The pod name (downward API in manifests/deployment.yaml): the replica's leader-election identity. */
export const IDENTITY_ENV = 'POD_NAME';

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
  if (parsed.success) {
    const identity = parsed.data.leaderElection.identity ?? (env[IDENTITY_ENV] || undefined);
    return { ...parsed.data, leaderElection: { ...parsed.data.leaderElection, identity } };
  }
  const lines = parsed.error.issues.map((issue) => {
    const key = fieldPath(issue.path) || '(top level)';
    const origin = origins.get(issue.path.join('.')) ?? (source ? source : 'defaults');
    return `${key} (from ${origin}): ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
}

/** This replica's leader-election identity: configured (or POD_NAME), else `<hostname>-<pid>`, unique per process. */
export function replicaIdentity(config: Pick<ServiceConfig, 'leaderElection'>): string {
  return config.leaderElection.identity ?? `${hostname()}-${process.pid}`;
}
