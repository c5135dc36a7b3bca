import { setTimeout as pollInterval } from 'node:timers/promises';

/**
 * Polls a condition on real state (stats, an API server's answer) that has no event to await;
 * fails with `what` once `timeoutMs` passed. Not a stand-in for synchronisation: it returns as soon
 * as the condition holds, and says what never happened when it does not.
 */
export async function until(condition: () => boolean | Promise<boolean>, what: string, { timeoutMs = 10_000, everyMs = 50 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await pollInterval(everyMs);
  }
}
