import { LeaseConflictError, type LeaseApi, type StoredLease } from '../../src/enforcement/leader-lease.js';
import type { LeaseRecord } from '../../src/core/leader-election.js';

/**
 * One Lease held in memory with the API server's compare-and-swap rules: create fails when it exists,
 * replace when the resourceVersion is not the stored one. This is the elector's port, not a mock of
 * the Kubernetes API: the real API server is tested with the e2e suite.
 */
export class InMemoryLease {
  stored: StoredLease | undefined;
  /** Every record written, in order. */
  readonly writes: LeaseRecord[] = [];
  reads = 0;
  private version = 0;

  /** A connection to the Lease for one replica; `cut` makes its calls fail as if the API server were unreachable. */
  connect(): LeaseApi & { cut: boolean } {
    const check = (connection: { cut: boolean }) => {
      if (connection.cut) throw new Error('connect ECONNREFUSED');
    };
    const connection = {
      cut: false,
      get: async () => {
        await Promise.resolve();
        check(connection);
        this.reads += 1;
        return this.stored;
      },
      create: async (record: LeaseRecord) => {
        await Promise.resolve();
        check(connection);
        if (this.stored) throw new LeaseConflictError('create: the Lease exists');
        return this.put(record);
      },
      replace: async (record: LeaseRecord, resourceVersion: string) => {
        await Promise.resolve();
        check(connection);
        if (this.stored?.resourceVersion !== resourceVersion) throw new LeaseConflictError('replace: resourceVersion changed');
        return this.put(record);
      },
    };
    return connection;
  }

  private put(record: LeaseRecord): StoredLease {
    this.version += 1;
    this.writes.push(record);
    this.stored = { record, resourceVersion: String(this.version) };
    return this.stored;
  }
}
