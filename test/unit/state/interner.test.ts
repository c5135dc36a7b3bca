import { describe, expect, it } from '@jest/globals';
import { Interner } from '../../../src/state/interner.js';
import { parseList, type ResourceList } from '../../../src/quantity/index.js';

function list(given: Record<string, string>): ResourceList {
  const parsed = parseList(given);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.list;
}

describe('Interner', () => {
  it.each<[string, Record<string, string>, Record<string, string>, boolean]>([
    ['equal lists share one instance', { cpu: '500m', memory: '1Gi' }, { cpu: '500m', memory: '1Gi' }, true],
    ['equal amounts written differently are not merged (the format prints differently)', { memory: '1Gi' }, { memory: '1073741824' }, false],
    ['different amounts', { cpu: '500m' }, { cpu: '501m' }, false],
    ['different names', { cpu: '1' }, { pods: '1' }, false],
  ])('%s', (_name, a, b, shared) => {
    const interner = new Interner();
    const first = interner.list(list(a));
    expect(interner.list(list(b)) === first).toBe(shared);
  });

  it('shares names and label sets, and freezes the shared label set', () => {
    const interner = new Interner();
    const name = interner.name(['us', 'east'].join('-'));
    expect(interner.name(['us', 'east'].join('-'))).toBe(name);
    const labels = interner.labels({ app: 'api', tier: 'web' });
    expect(interner.labels({ app: 'api', tier: 'web' })).toBe(labels);
    expect(interner.labels({ app: 'api', tier: 'batch' })).not.toBe(labels);
    expect(Object.isFrozen(labels)).toBe(true);
  });

  it("shares a headroom's resource names, frozen, one array per set of names", () => {
    const { resourceNames } = new Interner();
    const names = resourceNames(['cpu', 'memory']);
    expect(resourceNames(['cpu', 'memory'])).toBe(names);
    expect(resourceNames(['cpu'])).not.toBe(names);
    expect(Object.isFrozen(names)).toBe(true);
  });

  it('is bounded: a full table starts over, so churning values cannot grow it', () => {
    const interner = new Interner();
    const first = interner.list(list({ cpu: '1' }));
    for (let i = 2; i <= 4_097; i++) interner.list(list({ cpu: String(i) }));
    expect(interner.list(list({ cpu: '1' }))).not.toBe(first);
  });
});
