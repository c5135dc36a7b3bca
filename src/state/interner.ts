import type { LabelSelector } from '../api/resources.js';
import type { ResourceList } from '../quantity/index.js';
import { BoundedCache } from './bounded-cache.js';

const listKey = (list: ResourceList): string => {
  let key = '';
  for (const name in list) {
    const quantity = list[name];
    if (quantity) key += `${name}=${quantity.nanos}/${quantity.format};`;
  }
  return key;
};

/**
 * One shared instance per equal value, for what the state keeps per placement. Placements repeat
 * themselves: a few request shapes, a few label sets, the same cluster and workspace names; each
 * parsed object brings its own copies (~700 of the ~1,000 bytes a placement cost; docs/benchmarks.md,
 * tracker-scale). Every value shared here is immutable (frozen lists, frozen label maps, strings).
 * Bounded, so churning values cannot grow it: a forgotten value is merely shared less.
 */
export class Interner {
  private readonly names = new BoundedCache<string>(65_536);
  private readonly lists = new BoundedCache<ResourceList>(4_096);
  private readonly labelSets = new BoundedCache<Readonly<Record<string, string>>>(4_096);
  private readonly selectors = new BoundedCache<LabelSelector>(1_024);
  private readonly nameLists = new BoundedCache<readonly string[]>(1_024);

  name(name: string): string {
    return this.names.share(name, name);
  }

  list(list: ResourceList): ResourceList {
    return this.lists.share(listKey(list), list);
  }

  labels(labels: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
    return this.labelSets.share(JSON.stringify(labels), Object.freeze(labels));
  }

  /** The sorted resource names of a cluster's or a quota's headroom (a few sets for the whole population), frozen. */
  resourceNames = (names: string[]): readonly string[] => this.nameLists.share(JSON.stringify(names), Object.freeze(names));

  /** Quotas' scope selectors (most quotas of a kind select alike, `tier: batch`); not frozen: the parsed object holds it too. */
  selector(selector: LabelSelector): LabelSelector {
    return this.selectors.share(JSON.stringify(selector), selector);
  }
}
