import type { ResourceList } from '../quantity/index.js';

/**
 * One shared instance per equal value, for what the state keeps per placement. Placements repeat
 * themselves: a few request shapes, a few label sets, the same cluster and workspace names; each
 * parsed object brings its own copies (~700 of the ~1,000 bytes a placement cost; docs/benchmarks.md,
 * tracker-scale). Every value shared here is immutable (frozen lists, frozen label maps, strings).
 *
 * Bounded: a table that reaches `max` entries starts over, so churning values cannot grow it; equal
 * values are then merely shared less until the table fills with the current ones again.
 */
class Table<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly max: number) {}

  get(key: string, value: V): V {
    const shared = this.entries.get(key);
    if (shared !== undefined) return shared;
    if (this.entries.size >= this.max) this.entries.clear();
    this.entries.set(key, value);
    return value;
  }
}

const listKey = (list: ResourceList): string => {
  let key = '';
  for (const name in list) {
    const quantity = list[name];
    if (quantity) key += `${name}=${quantity.nanos}/${quantity.format};`;
  }
  return key;
};

export class Interner {
  private readonly names = new Table<string>(65_536);
  private readonly lists = new Table<ResourceList>(4_096);
  private readonly labelSets = new Table<Readonly<Record<string, string>>>(4_096);

  name(name: string): string {
    return this.names.get(name, name);
  }

  list(list: ResourceList): ResourceList {
    return this.lists.get(listKey(list), list);
  }

  labels(labels: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
    return this.labelSets.get(JSON.stringify(labels), Object.freeze(labels));
  }
}
