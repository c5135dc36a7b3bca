/** The ValidatingWebhookConfiguration of SPEC §8, for a URL (local runs) or an in-cluster Service. */
export const WEBHOOK_CONFIGURATION_NAME = 'placement-quota-webhook';
export const VALIDATE_PATH = '/validate/workloadplacements';

export type ClientTarget =
  | { url: string }
  | { service: { namespace: string; name: string; path: string; port: number } };

export interface RegistrationOptions {
  /** Default WEBHOOK_CONFIGURATION_NAME; tests register one per test file. */
  name?: string;
  /** Limits the webhook to namespaces with these labels (tests keep each other's namespaces apart). */
  namespaceLabels?: Record<string, string>;
}

export function webhookConfiguration(caBundlePem: string, target: ClientTarget, options: RegistrationOptions = {}): object {
  const caBundle = Buffer.from(caBundlePem).toString('base64');
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: options.name ?? WEBHOOK_CONFIGURATION_NAME },
    webhooks: [
      {
        name: 'workloadplacements.placement-quota.tmc.kcp.io',
        clientConfig: { ...target, caBundle },
        rules: [
          {
            apiGroups: ['tmc.kcp.io'],
            apiVersions: ['v1alpha1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['workloadplacements'],
            scope: 'Namespaced',
          },
        ],
        failurePolicy: 'Fail',
        sideEffects: 'NoneOnDryRun',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: 5,
        matchPolicy: 'Equivalent',
        ...(options.namespaceLabels ? { namespaceSelector: { matchLabels: options.namespaceLabels } } : {}),
      },
    ],
  };
}
