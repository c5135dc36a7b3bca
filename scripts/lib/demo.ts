/** The small world `npm run up` shows: three clusters, one team with a quota, and placements. */
const API = 'tmc.kcp.io/v1alpha1';
export const DEMO_NAMESPACE = 'team-a';

interface DemoCluster {
  name: string;
  location: string;
  capacity: Record<string, string>;
}

export const demoClusters: readonly DemoCluster[] = [
  { name: 'us-east-1', location: 'us-east', capacity: { cpu: '64', memory: '16Gi', storage: '1Ti', pods: '110' } },
  { name: 'eu-west-2', location: 'eu-west', capacity: { cpu: '32', memory: '128Gi', storage: '1Ti', pods: '110' } },
  { name: 'eu-west-1', location: 'eu-west', capacity: { cpu: '16', memory: '32Gi', storage: '1Ti', pods: '110' } },
];

/** Spec only: status goes through the status subresource, as a syncer would write it. */
export function syncTarget(cluster: DemoCluster): object {
  // A long heartbeat interval keeps the demo's clusters Ready without a syncer sending heartbeats.
  return { apiVersion: API, kind: 'SyncTarget', metadata: { name: cluster.name }, spec: { location: cluster.location, heartbeatInterval: '1h' } };
}

export function syncTargetStatus(cluster: DemoCluster, now: Date): object {
  return {
    status: {
      capacity: cluster.capacity,
      nodeSummary: { total: 3, ready: 3 },
      lastHeartbeatTime: now.toISOString().replace(/\.\d+Z$/, 'Z'),
      conditions: [{ type: 'Ready', status: 'True', reason: 'HeartbeatOK', message: '', lastTransitionTime: now.toISOString().replace(/\.\d+Z$/, 'Z') }],
    },
  };
}

export const demoQuota = {
  apiVersion: API,
  kind: 'WorkspaceQuota',
  metadata: { name: 'compute', namespace: DEMO_NAMESPACE },
  spec: { hard: { cpu: '10', memory: '40Gi', placements: '20' }, soft: { cpu: '6' } },
};

const placement = (name: string, requirements: Record<string, string>, cluster: string): object => ({
  apiVersion: API,
  kind: 'WorkloadPlacement',
  metadata: { name, namespace: DEMO_NAMESPACE },
  spec: { resourceRequirements: requirements, targetClusters: [{ name: cluster }] },
});

export const demoPlacements = [placement('api', { cpu: '4', memory: '8Gi' }, 'us-east-1'), placement('batch', { cpu: '1', memory: '10.2Gi' }, 'us-east-1')];

/** Over team-a's cpu quota and over us-east-1's memory: the rejection `npm run up` shows. */
export const rejectedPlacement = placement('web', { cpu: '6', memory: '4Gi' }, 'us-east-1');
