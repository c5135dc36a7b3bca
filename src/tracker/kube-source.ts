import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { GROUP, VERSION } from '../api/resources.js';
import { withSignal } from '../ops/kube-request.js';
import { collectionPath, type KindInfo } from './kinds.js';
import { streamWatch, type StreamEnd, type WatchStreamHandlers } from './watch-stream.js';

/** One page of a list: raw items (each kind's schema judges them later). */
export interface ListPage {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
  /** Absent on the last page. */
  readonly continueToken: string | undefined;
}

export interface WatchParams {
  readonly resourceVersion: string;
  readonly timeoutSeconds: number;
}

/** The two API calls the tracker makes; the only IO it does. */
export interface KubeSource {
  listPage(info: KindInfo, page: { limit: number; continueToken: string | undefined }, signal: AbortSignal): Promise<ListPage>;
  watch(info: KindInfo, params: WatchParams, handlers: WatchStreamHandlers, signal: AbortSignal): Promise<StreamEnd>;
}

const listSchema = z.object({
  metadata: z.object({ resourceVersion: z.string().min(1), continue: z.string().optional() }),
  items: z.array(z.unknown()).nullish(),
});

/** Lists with the generated CustomObjectsApi (paginated with limit/continue); watches with {@link streamWatch}. */
export function kubeSource(kubeConfig: KubeConfig): KubeSource {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  return {
    async listPage(info, page, signal) {
      const body: unknown = await api.listClusterCustomObject(
        { group: GROUP, version: VERSION, plural: info.plural, limit: page.limit, _continue: page.continueToken },
        withSignal(signal),
      );
      const list = listSchema.parse(body);
      return { items: list.items ?? [], resourceVersion: list.metadata.resourceVersion, continueToken: list.metadata.continue || undefined };
    },
    watch(info, params, handlers, signal) {
      const server = kubeConfig.getCurrentCluster()?.server;
      if (!server) return Promise.resolve({ type: 'failed', error: new Error('the kubeconfig has no current cluster') });
      // Concatenated, not resolved: a server URL may carry a path prefix (API proxies do).
      const url = new URL(server.replace(/\/+$/, '') + collectionPath(info));
      url.searchParams.set('watch', 'true');
      url.searchParams.set('resourceVersion', params.resourceVersion);
      url.searchParams.set('allowWatchBookmarks', 'true');
      url.searchParams.set('timeoutSeconds', String(params.timeoutSeconds));
      return streamWatch(kubeConfig, url, handlers, signal);
    },
  };
}
