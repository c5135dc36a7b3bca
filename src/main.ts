/**
 * Composition root: config → logger → tracker → webhook + (behind the Lease) quota status, the
 * eviction loop and the aggregated status of placements → listen; signals.
 * Nothing else in the service reads the environment or wires modules together.
 */
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { TrackedKind, TrackedObject } from './api/resources.js';
import { mustParse } from './quantity/index.js';
import { ReservationLedger } from './state/reservations.js';
import { TrackedState } from './state/tracked-state.js';
import { createQuotaReserver } from './consistency/quota-reserver.js';
import { kubernetesQuotaStatusApi, QuotaStore } from './consistency/quota-store.js';
import { createEvictionLoop } from './enforcement/eviction-loop.js';
import { createLeaderElector, kubernetesLeaseApi } from './enforcement/leader-lease.js';
import { kubernetesAggregationApi, kubernetesPlacementStatusApi } from './enforcement/placement-status-api.js';
import { createStatusAggregationWriter } from './enforcement/status-aggregation-writer.js';
import { createQuotaStatusWriter, createSettlement } from './enforcement/quota-status-writer.js';
import { leaderTimingsOf, replicaIdentity, type ServiceConfig } from './ops/config.js';
import type { Logger } from './ops/logger.js';
import { withPooledConnections } from './ops/kube-request.js';
import { loadTlsMaterial, watchTlsMaterial } from './ops/tls.js';
import { createAccessGate, kubernetesAccessReviewApi } from './reporting/access.js';
import { dashboardLoginPage, dashboardRoute, loginRoute } from './reporting/dashboard-route.js';
import { createServiceMetrics } from './reporting/metrics.js';
import { observabilityHandler } from './reporting/observability-server.js';
import { createReportLoop, reportsHandler } from './reporting/report-loop.js';
import { createTracker, kubeSource } from './tracker/tracker.js';
import { createRequestListener, type TransportStats } from './webhook/app.js';
import { createOffThreadDecoder } from './webhook/off-thread-decoder.js';
import { createHttpsServer } from './webhook/https-server.js';
import { createReviewer, type Readiness } from './webhook/reviewer.js';

export interface RunningService {
  /** The port it listens on (useful with `port: 0`). */
  readonly port: number;
  /** The observability port: /metrics, /reports/*, /dashboard. */
  readonly observabilityPort: number;
  /** Counters of the admission transport (refused callers, clients gone mid-body), for the metrics to export. */
  stats(): { transport: TransportStats };
  /** Graceful: stop accepting, finish in-flight reviews, stop watching. */
  stop(): Promise<void>;
}

function loadKubeConfig(config: ServiceConfig): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (config.kubeconfig) kubeConfig.loadFromFile(config.kubeconfig);
  else kubeConfig.loadFromDefault();
  return withPooledConnections(kubeConfig);
}

const workspaceOfKey = (key: string): string => key.slice(0, key.lastIndexOf('/'));

/** Starts the service and resolves once it listens (the tracker keeps syncing in the background; /readyz tells). */
export async function startService(config: ServiceConfig, log: Logger): Promise<RunningService> {
  const kubeConfig = loadKubeConfig(config);
  const state = new TrackedState();
  const ledger = new ReservationLedger();
  const tracker = createTracker({ source: kubeSource(kubeConfig), state, log: log.child({ component: 'tracker' }) });
  // Every update is bounded by its signal (a review's deadline, the writer's timeout): that, not a
  // count, is what ends retries. Under a burst one replica lost 12-13 rounds in a row to the other
  // (bench/strict-quota), close to the default 16 at which a fit request would be refused.
  const store = new QuotaStore({ api: kubernetesQuotaStatusApi(kubeConfig), tracked: (key) => state.quotaObject(key), maxAttempts: 64 });
  const identity = replicaIdentity(config);
  const { namespace: leaseNamespace, name: leaseName } = config.leaderElection;
  // Every replica admits; one, the Lease holder, writes quota status and enforces (SPEC §6, §8).
  const elector = createLeaderElector({
    api: kubernetesLeaseApi(kubeConfig, leaseNamespace, leaseName),
    identity,
    timings: leaderTimingsOf(config.leaderElection),
    clock: Date.now,
    log: log.child({ component: 'leader', lease: `${leaseNamespace}/${leaseName}` }),
    onStartedLeading: () => {
      // A new leader repairs whatever the previous one left unwritten.
      statusWriter.touchAll();
      evictionLoop.trigger();
      aggregationWriter.trigger();
    },
    onStoppedLeading: () => undefined, // both check isLeader() before every write
  });
  const leading = () => tracker.ready() && elector.isLeader();
  const reserver = createQuotaReserver({
    store,
    fallbackUsed: (key) => state.used(key),
    clock: Date.now,
    log: log.child({ component: 'reserver' }),
    // The Lease holder settles in its reservation writes too: on a hot quota the status writer then
    // waits while they run (reserving, below), and the two replicas' reservers are the only writers.
    settle: createSettlement({ state, ready: leading, placementsVersion: () => tracker.stats().resourceVersions.WorkloadPlacement }),
    shares:
      config.quotaShareFraction > 0
        ? { owner: identity, fraction: mustParse(config.quotaShareFraction), ttlMs: config.reservationTtlSeconds * 1000 }
        : undefined,
  });
  const statusWriter = createQuotaStatusWriter({
    state,
    store,
    ready: leading,
    placementsVersion: () => tracker.stats().resourceVersions.WorkloadPlacement,
    clock: Date.now,
    log: log.child({ component: 'quota-status' }),
    reserving: (key) => reserver.busy(key),
  });
  const evictionLoop = createEvictionLoop({
    state,
    settings: config,
    api: kubernetesPlacementStatusApi(kubeConfig),
    isLeader: () => elector.isLeader(),
    ready: () => tracker.ready(),
    identity,
    clock: Date.now,
    log: log.child({ component: 'enforcement' }),
  });
  // Every replica follows which placements' aggregated status is due; the leader writes it (SPEC §7).
  const aggregationWriter = createStatusAggregationWriter({
    settings: config.statusAggregation,
    api: kubernetesAggregationApi(kubeConfig),
    isLeader: () => elector.isLeader(),
    ready: () => tracker.ready(),
    reportTimes: () => state.statusReportTimes(),
    clock: Date.now,
    log: log.child({ component: 'status-aggregation' }),
  });
  tracker.on('change', (kind: TrackedKind, key: string, object: TrackedObject | undefined) => {
    if (kind === 'WorkloadPlacement') {
      aggregationWriter.observe(key, object?.kind === 'WorkloadPlacement' ? object.object : undefined);
      // The watch now shows this placement (or its deletion): its reservation has done its job.
      ledger.settle(key, object?.kind === 'WorkloadPlacement' ? (object.object.metadata.generation ?? 1) : Infinity);
      statusWriter.touchWorkspace(workspaceOfKey(key));
    } else if (kind === 'WorkspaceQuota') {
      statusWriter.touch(key);
      reserver.observe(key);
    }
    evictionLoop.touch(kind, key, object);
  });
  tracker.on('ready', () => {
    statusWriter.touchAll();
    evictionLoop.trigger();
    aggregationWriter.trigger();
  });

  // Reads the latest report snapshot (the loop below), never the raw state: a scrape stays cheap at any size.
  const metrics = createServiceMetrics({
    latest: () => reports.latest(),
    tracker: () => tracker.stats(),
    objects: (kind) => state.count(kind as TrackedKind),
    reservations: () => store.counters,
    admissions: () => reserver.counters,
    enforcement: () => ({ leader: elector.isLeader(), ...evictionLoop.counters }),
    // Read at scrape time, once the admission route below exists.
    transport: () => handler.stats(),
    clock: Date.now,
  });
  const readiness: Readiness = () => (tracker.ready() ? { ready: true } : { ready: false, why: 'the tracker has no complete view of the cluster yet' });
  const review = createReviewer({
    state,
    ledger,
    readiness,
    config,
    reservationTtlMs: config.reservationTtlSeconds * 1000,
    clock: Date.now,
    log: log.child({ component: 'admission' }),
    observe: (outcome) => metrics.observeAdmission(outcome),
    reserver,
  });
  const httpsLog = log.child({ component: 'https' });
  const handler = createRequestListener({
    review,
    readiness,
    bodyLimit: config.bodyLimitBytes,
    onError: (err) => log.error({ err }, 'admission route failed'),
    ...(config.tls.clientCAFile === undefined ? {} : { callers: { names: config.tls.clientNames } }),
    // Debug: anyone who can reach the port can make these lines; the counters say how many.
    onCallerRefused: (reason, req) => httpsLog.debug({ reason, remoteAddress: req.socket.remoteAddress }, 'caller refused: not the API server'),
    onClientGone: (err) => httpsLog.debug({ reason: err.message }, 'client went away before its review was read'),
    offThread: createOffThreadDecoder(),
  });

  const material = await loadTlsMaterial(config.tls.certFile, config.tls.keyFile, config.tls.clientCAFile);
  const https = createHttpsServer({ material, handler, log: httpsLog });
  // The reports' listener is bound to loopback and read with curl: it asks for no client certificate.
  const servingOnly = ({ cert, key }: { cert: string; key: string }) => ({ cert, key });
  // Reports: every replica aggregates its own tracker; served on their own listener.
  const reports = createReportLoop({
    state,
    config,
    ready: () => tracker.ready(),
    intervalMs: config.reports.aggregationIntervalSeconds * 1000,
    history: { retentionMs: config.reports.historyRetentionHours * 3_600_000, maxEntries: config.reports.historyMaxEntries },
    clock: Date.now,
  });
  const { observability } = config;
  const gate =
    observability.auth === 'kubernetes'
      ? createAccessGate({ api: kubernetesAccessReviewApi(kubeConfig), ttlMs: observability.authCacheTtlSeconds * 1000, maxEntries: observability.authCacheSize, clock: Date.now })
      : undefined;
  const observabilityLog = log.child({ component: 'observability' });
  const observabilityRoutes = {
    '/reports/*': reportsHandler(reports, Date.now),
    '/metrics': async (_req: IncomingMessage, res: ServerResponse) => {
      const text = await metrics.render();
      res.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' }).end(text);
    },
    '/dashboard': dashboardRoute(reports, config.reports.aggregationIntervalSeconds),
  };
  const reportsHttps = createHttpsServer({
    material: servingOnly(material),
    handler: observabilityHandler({ gate, routes: observabilityRoutes, open: { '/dashboard/login': loginRoute }, loginPage: dashboardLoginPage, log: observabilityLog }),
    log: observabilityLog,
  });
  const certWatcher = watchTlsMaterial({
    certFile: config.tls.certFile,
    keyFile: config.tls.keyFile,
    ...(config.tls.clientCAFile === undefined ? {} : { clientCaFile: config.tls.clientCAFile }),
    current: material,
    onChange: (next) => {
      https.reload(next);
      reportsHttps.reload(servingOnly(next));
    },
    onError: (err) => log.warn({ err }, 'new TLS files are not usable yet; still serving the previous certificate'),
    log: log.child({ component: 'tls' }),
  });

  https.server.listen(config.port, config.host);
  await once(https.server, 'listening');
  const { port } = https.server.address() as AddressInfo;
  log.info({ port, host: config.host, callerAuthentication: config.tls.clientCAFile !== undefined }, 'listening');

  reportsHttps.server.listen(observability.port, observability.host);
  await once(reportsHttps.server, 'listening');
  const observabilityPort = (reportsHttps.server.address() as AddressInfo).port;
  log.info({ port: observabilityPort, host: observability.host, auth: observability.auth }, 'observability listening (/metrics, /reports/*, /dashboard)');
  tracker.on('ready', () => reports.aggregate());
  tracker.on('change', () => reports.touch());
  reports.start();

  tracker.start().catch((err: unknown) => log.error({ err }, 'tracker failed to start'));
  elector.start();
  evictionLoop.start();
  aggregationWriter.start();
  // Also repairs status drift nobody touched (a hand edit of status.used, a write that failed).
  const resync = setInterval(() => statusWriter.touchAll(), 60_000).unref();

  return {
    port,
    observabilityPort,
    stats: () => ({ transport: handler.stats() }),
    stop: async () => {
      clearInterval(resync);
      // Leader work first, then the Lease: another replica takes over within its next retry
      // (seconds) while this one still drains its admissions.
      await evictionLoop.stop();
      await aggregationWriter.stop();
      statusWriter.stop();
      await elector.release();
      reports.stop();
      await reportsHttps.close(0);
      certWatcher.close();
      await https.close(config.shutdownGraceSeconds * 1000);
      // Charges admitted at once are written and the shares' headroom given back, so that the next
      // process need not wait for them to expire; bounded, since the API server may be gone.
      await Promise.race([reserver.stop(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      await tracker.stop();
    },
  };
}
