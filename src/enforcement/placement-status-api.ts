import { ApiException, CustomObjectsApi, EventsV1Api, PatchStrategy, setHeaderOptions, V1MicroTime, type EventsV1Event, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, VERSION, workloadPlacementSchema } from '../api/resources.js';
import type { WorkloadPlacement } from '../api/resources.js';
import { PlacementConflictError, type EvictionEvent, type PlacementStatusApi } from './eviction-loop.js';
import type { AggregationApi } from './status-aggregation-writer.js';

/** Names the controller in every Event it emits (events.k8s.io/v1 reportingController). */
export const REPORTING_CONTROLLER = 'placement-quota-webhook';

/** events.k8s.io/v1 bounds `note` to 1 KiB. */
const MAX_NOTE = 1024;

const hasStatus = (error: unknown, code: number): boolean => error instanceof ApiException && error.code === code;

/** The Event of one eviction: a Warning on the placement, `action: Evict`, the eviction's reason and numbers. */
export function evictionEventBody(event: EvictionEvent): EventsV1Event {
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    // client-go's recorder names Events `<object>.<unix nanoseconds in hex>`; a generateName of
    // `<object>.` is refused (it must itself end with an alphanumeric or a dash).
    metadata: { name: `${event.name}.${(BigInt(event.eventTimeMs) * 1_000_000n).toString(16)}`, namespace: event.namespace },
    // MicroTime: the API server wants six fraction digits, which a plain Date does not serialize to.
    eventTime: new V1MicroTime(event.eventTimeMs),
    type: 'Warning',
    action: 'Evict',
    reason: event.reason,
    note: event.note.length <= MAX_NOTE ? event.note : `${event.note.slice(0, MAX_NOTE - 1)}…`,
    regarding: { apiVersion: `${GROUP}/${VERSION}`, kind: 'WorkloadPlacement', namespace: event.namespace, name: event.name, ...(event.uid ? { uid: event.uid } : {}) },
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: event.reportingInstance,
  };
}

/** Reads and compare-and-swap status patches of placements, the two calls both writers make. */
function placementObjects(kubeConfig: KubeConfig) {
  const objects = kubeConfig.makeApiClient(CustomObjectsApi);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const target = (namespace: string, name: string) => ({ group: GROUP, version: VERSION, plural: 'workloadplacements', namespace, name });
  return {
    read: async (namespace: string, name: string): Promise<WorkloadPlacement | undefined> => {
      let raw: unknown;
      try {
        raw = await objects.getNamespacedCustomObject(target(namespace, name));
      } catch (error) {
        if (hasStatus(error, 404)) return undefined;
        throw error;
      }
      return workloadPlacementSchema.parse(raw);
    },
    patchStatus: async (namespace: string, name: string, resourceVersion: string, status: object): Promise<void> => {
      try {
        await objects.patchNamespacedCustomObjectStatus({ ...target(namespace, name), body: { metadata: { resourceVersion }, status } }, mergePatch);
      } catch (error) {
        if (hasStatus(error, 409)) throw new PlacementConflictError(`${namespace}/${name}: changed since read`, { cause: error });
        throw error;
      }
    },
  };
}

/**
 * {@link PlacementStatusApi} through client-node: reads with getNamespacedCustomObject, writes a JSON
 * merge patch of the status subresource whose metadata.resourceVersion is the precondition (the API
 * server answers 409 when the object moved on), emits Events with EventsV1Api.
 */
export function kubernetesPlacementStatusApi(kubeConfig: KubeConfig): PlacementStatusApi {
  const placements = placementObjects(kubeConfig);
  const events = kubeConfig.makeApiClient(EventsV1Api);
  return {
    read: async (namespace, name) => {
      const placement = await placements.read(namespace, name);
      if (!placement) return undefined;
      const { metadata, status } = placement;
      return { resourceVersion: metadata.resourceVersion ?? '', generation: metadata.generation ?? 1, uid: metadata.uid, phase: status.phase, conditions: status.conditions };
    },
    patchStatus: placements.patchStatus,
    createEvent: async (event) => {
      try {
        await events.createNamespacedEvent({ namespace: event.namespace, body: evictionEventBody(event) });
      } catch (error) {
        // 409 AlreadyExists: this eviction's Event was sent before (by this leader or the one before).
        if (!(error instanceof ApiException && error.code === 409)) throw error;
      }
    },
  };
}

/** {@link AggregationApi} through client-node: the same read and compare-and-swap merge patch. */
export function kubernetesAggregationApi(kubeConfig: KubeConfig): AggregationApi {
  return placementObjects(kubeConfig);
}
