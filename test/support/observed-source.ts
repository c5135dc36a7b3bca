import type { KubeSource } from '../../src/tracker/kube-source.js';

/** A KubeSource that counts the requests that failed, so a test can wait for retries instead of for time. */
export interface ObservedSource extends KubeSource {
  readonly failedLists: number;
}

export function observed(source: KubeSource): ObservedSource {
  let failedLists = 0;
  return {
    get failedLists() {
      return failedLists;
    },
    listPage: (info, page, signal) =>
      source.listPage(info, page, signal).catch((error: unknown) => {
        failedLists++;
        throw error;
      }),
    watch: (info, params, handlers, signal) => source.watch(info, params, handlers, signal),
  };
}
