import { add, cmp, formatQuantity, isZero, mulInt, mulRatio, parseQuantity, sub, ZERO, type Quantity } from './quantity.js';

/**
 * An immutable map from resource name (`cpu`, `memory`, `storage`, `pods`, `placements`, …) to
 * quantity. The algebra follows Kubernetes' `pkg/quota/v1/resources.go` and never mutates its inputs.
 *
 * Lists built here inherit nothing, so `list['constructor']` or `list['__proto__']` is
 * `undefined` rather than something inherited; resource names come from untrusted objects.
 */
export type ResourceList = Readonly<Record<string, Quantity>>;

/**
 * The prototype of every list built here: empty, frozen, itself without a prototype. A list made
 * with `Object.create(null)` would inherit nothing as well, but V8 keeps such objects in dictionary
 * mode, which made building one ~7x slower; lists are built on every decision.
 */
const INHERITS_NOTHING: object = Object.freeze(Object.create(null) as object);

/**
 * The value under `name`, or zero when absent; own keys only, whatever the list's prototype (lists
 * parsed from objects have one, and `list['constructor']` must not read as a quantity).
 */
export function amountOf(list: ResourceList, name: string): Quantity {
  return Object.hasOwn(list, name) ? (list[name] as Quantity) : ZERO;
}

/** Past this length {@link inOrder} leaves the work to `Array#sort`. */
const FEW_NAMES = 16;

/**
 * `names` in code-unit order, as `Array#sort` leaves them. A few names (the usual case: resources,
 * the clusters of one placement) are put in order in place, without the work array `Array#sort`
 * allocates even for names already in order.
 */
export function inOrder(names: string[]): string[] {
  if (names.length > FEW_NAMES) return names.sort();
  for (let i = 1; i < names.length; i++) {
    const name = names[i] as string;
    let j = i - 1;
    for (; j >= 0 && (names[j] as string) > name; j--) names[j + 1] = names[j] as string;
    names[j + 1] = name;
  }
  return names;
}

/**
 * A frozen list that inherits nothing, of `names` (in order: stable output for messages and tests) to
 * the quantity `valueOf` gives for each. Properties are set one by one on the new list, with no array
 * of [name, quantity] pairs to build and sort first: a report at 10k clusters builds tens of thousands.
 */
function build(names: readonly string[], valueOf: (name: string, index: number) => Quantity): ResourceList {
  const list = Object.create(INHERITS_NOTHING) as Record<string, Quantity>;
  for (let i = 0; i < names.length; i++) list[names[i] as string] = valueOf(names[i] as string, i);
  return Object.freeze(list);
}

/** The names of a list, in order: most lists have theirs in order already, and {@link inOrder} then only checks. */
const namesOf = (list: object): string[] => inOrder(Object.keys(list));

/**
 * Whether `list` is what {@link build} would make of it: frozen, inheriting nothing, names in order. An
 * operation that would only copy such a list returns it instead; most lists a decision builds were copies.
 */
function isBuilt(list: ResourceList): boolean {
  if (!Object.isFrozen(list) || Object.getPrototypeOf(list) !== INHERITS_NOTHING) return false;
  // It inherits nothing, so for-in walks its own names, in Object.keys' order, without making that array.
  let previous: string | undefined;
  for (const name in list) {
    if (previous !== undefined && previous >= name) return false;
    previous = name;
  }
  return true;
}

function isEmpty(list: ResourceList): boolean {
  for (const name in list) if (Object.hasOwn(list, name)) return false;
  return true;
}

function unionOfNames(a: object, b: object): string[] {
  const names = Object.keys(a);
  for (const name of Object.keys(b)) if (!Object.hasOwn(a, name)) names.push(name);
  return inOrder(names);
}

function combine(a: ResourceList, b: ResourceList, op: (x: Quantity, y: Quantity) => Quantity): ResourceList {
  return build(unionOfNames(a, b), (name) => op(amountOf(a, name), amountOf(b, name)));
}

/**
 * a + b over the union of names. A name missing on one side counts as zero, and the sum then
 * keeps the present side's format (Kubernetes' `Add`: adding to zero takes the other's format).
 */
export function addLists(a: ResourceList, b: ResourceList): ResourceList {
  // x + 0 and 0 + y are x and y (a zero's format is never observable: it prints `0`, and adding to it takes the other's).
  if (isEmpty(b) && isBuilt(a)) return a;
  if (isEmpty(a) && isBuilt(b)) return b;
  return combine(a, b, add);
}

/** a − b over the union of names; results may be negative (a name only in b gives −b). */
export function subLists(a: ResourceList, b: ResourceList): ResourceList {
  if (isEmpty(b) && isBuilt(a)) return a;
  return combine(a, b, sub);
}

/**
 * a − b over the union of names, each floored at zero (Kubernetes'
 * `SubtractWithNonNegativeResult`: anything not above zero becomes a plain `0`).
 */
export function subNonNegative(a: ResourceList, b: ResourceList): ResourceList {
  return combine(a, b, (x, y) => {
    const difference = sub(x, y);
    return cmp(difference, ZERO) > 0 ? difference : ZERO;
  });
}

/** Every quantity × n (an integer). */
export function scaleList(a: ResourceList, n: bigint | number): ResourceList {
  if ((n === 1 || n === 1n) && isBuilt(a)) return a;
  return build(namesOf(a), (name) => mulInt(amountOf(a, name), n));
}

/**
 * Products by ratio, then by quantity. Quantities parsed from the same text are one shared object
 * (see parseQuantity), so clusters whose allocatable is written alike share their overcommitted
 * value as well, and a decision reading it finds it in the CPU cache. Bounded like the parse cache.
 */
const PRODUCTS_LIMIT = 4096;
const productsByRatio = new Map<Quantity, Map<Quantity, Quantity>>();
let productCount = 0;

function sharedProduct(q: Quantity, ratio: Quantity): Quantity {
  const known = productsByRatio.get(ratio)?.get(q);
  if (known) return known;
  const product = mulRatio(q, ratio);
  if (productCount < PRODUCTS_LIMIT) {
    productCount += 1;
    productsByRatio.set(ratio, (productsByRatio.get(ratio) ?? new Map<Quantity, Quantity>()).set(q, product));
  }
  return product;
}

/** Every quantity × its ratio in `ratios` ({@link mulRatio}: exact, floored); a name without a ratio is kept as is. */
export function scaleByRatios(a: ResourceList, ratios: ResourceList): ResourceList {
  return build(namesOf(a), (name) => (Object.hasOwn(ratios, name) ? sharedProduct(amountOf(a, name), amountOf(ratios, name)) : amountOf(a, name)));
}

/** Only the names in `names` that a has (Kubernetes' `Mask`). */
export function mask(a: ResourceList, names: readonly string[]): ResourceList {
  // A list holds a few dozen names at most (api/limits.ts MAX_RESOURCES): a scan beats building a Set on every decision.
  const kept = Object.keys(a).filter((name) => names.includes(name));
  if (kept.length === Object.keys(a).length && isBuilt(a)) return a;
  return build(inOrder(kept), (name) => amountOf(a, name));
}

/**
 * The names (sorted) whose usage is above the limit. Only names in `limit` are checked (a name
 * absent from the limit is unlimited); a name absent from `used` counts as zero.
 */
export function exceeded(used: ResourceList, limit: ResourceList): string[] {
  return inOrder(Object.keys(limit).filter((name) => cmp(amountOf(used, name), amountOf(limit, name)) > 0));
}

/** True when every quantity is zero (an empty list is zero). */
export function isZeroList(a: ResourceList): boolean {
  return Object.keys(a).every((name) => isZero(amountOf(a, name)));
}

/** Equal by value for every name, a missing name counting as zero (`{cpu: 0}` equals `{}`). */
export function listsEqual(a: ResourceList, b: ResourceList): boolean {
  return unionOfNames(a, b).every((name) => cmp(amountOf(a, name), amountOf(b, name)) === 0);
}

/** Outcome of {@link parseList}: the list, or the first bad name (in sorted order) and why. */
export type ParseListResult = { ok: true; list: ResourceList } | { ok: false; key: string; reason: string };

/**
 * Parses every value with {@link parseQuantity}. Names are checked in sorted order, so the error
 * reported for an input with several bad values is always the same one.
 */
export function parseList(input: Readonly<Record<string, string | number>>): ParseListResult {
  const names = Object.keys(input).sort();
  const quantities: Quantity[] = [];
  for (const key of names) {
    const parsed = parseQuantity(input[key] as string | number);
    if (!parsed.ok) return { ok: false, key, reason: parsed.reason };
    quantities.push(parsed.quantity);
  }
  return { ok: true, list: build(names, (_name, i) => quantities[i] as Quantity) };
}

/** Canonical strings (as Kubernetes prints them), keys sorted: for status writes and reports. */
export function formatList(a: ResourceList): Record<string, string> {
  return Object.fromEntries(
    Object.keys(a)
      .sort()
      .map((name) => [name, formatQuantity(amountOf(a, name))]),
  );
}
