import { Observable, type ConfigurationOptions, type RequestContext, type ResponseContext } from '@kubernetes/client-node';

/**
 * Options for one call of client-node's generated APIs that abort it with `signal`. client-node
 * 1.4.0 sets no timeout on requests, so every caller bounds its own: a list page, a status write
 * that must end before the admission request's deadline, a stop() that must not wait on a hung call.
 * `others` (e.g. a patch's Content-Type header) are kept beside it.
 */
export function withSignal(signal: AbortSignal, ...others: ConfigurationOptions[]): ConfigurationOptions {
  const abortable = {
    pre: (context: RequestContext) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  // Options are merged by concatenating their middleware: spreading two option objects would keep one list.
  return { middleware: [abortable, ...others.flatMap((options) => options.middleware ?? [])], middlewareMergeStrategy: 'append' };
}
