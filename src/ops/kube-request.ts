import { Agent as HttpsAgent } from 'node:https';
import { Observable, type ConfigurationOptions, type KubeConfig, type RequestContext, type ResponseContext } from '@kubernetes/client-node';

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

/**
 * Makes every API client built from `kubeConfig` share one keep-alive HTTPS agent. client-node
 * 1.4.0 builds a new `https.Agent` for every request (`applySecurityAuthentication`), so each call
 * opened a new connection: a TLS handshake and a fresh secure context (the CA parsed again) on both
 * sides, per quota write, per status write. The agent is made from the options of the first one
 * client-node builds (CA, client certificate), so what it verifies is unchanged; bearer tokens stay
 * per-request headers. Watches build their own agents and are left as they are.
 */
export function withPooledConnections(kubeConfig: KubeConfig): KubeConfig {
  const original = kubeConfig.applySecurityAuthentication.bind(kubeConfig);
  let pooled: HttpsAgent | undefined;
  kubeConfig.applySecurityAuthentication = async (context: RequestContext): Promise<void> => {
    await original(context);
    const made = context.getAgent();
    if (!(made instanceof HttpsAgent)) return;
    pooled ??= new HttpsAgent({ ...made.options, keepAlive: true });
    context.setAgent(pooled);
  };
  return kubeConfig;
}
