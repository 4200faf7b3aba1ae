/**
 * Malformed-input generator for the V1 fuzz corpus. It walks a valid sample
 * alongside the object's published JSON Schema and produces, for every node,
 * edits that the schema (and so the parser) must refuse: a required field
 * dropped, an unknown field added, a leaf of the wrong type, a number out of
 * range or not an integer, a string or array too long or too short, a string
 * outside its pattern or enumeration, an id with a broken checksum or of the
 * wrong kind, nested garbage in place of a value.
 *
 * Each mutation records the JSON path it touched and whether the refusal must
 * name exactly that path (`exact`) or may name something inside it.
 */
type Json = unknown;
type Seg = string | number;
type Node = Record<string, unknown>;

export interface Mutation {
  kind: string;
  segs: Seg[];
  /** `delete` removes the key at segs; `set` puts `value` there. */
  op: 'set' | 'delete';
  value?: Json;
  exact: boolean;
}

export function pathOf(segs: readonly Seg[]): string {
  let p = '$';
  for (const s of segs) p += typeof s === 'number' ? `[${s}]` : `.${s}`;
  return p;
}

/** Whether a refusal at `refused` names the mutated node (`exact`) or something inside it. */
export function namesPath(refused: string, m: Mutation): boolean {
  const p = pathOf(m.segs);
  if (refused === p) return true;
  return !m.exact && (refused.startsWith(`${p}.`) || refused.startsWith(`${p}[`));
}

// Spread defines own data properties (an own `__proto__` key stays an own key).
const copyOf = (v: unknown): unknown => (Array.isArray(v) ? v.slice() : { ...(v as Node) });

/** Apply one or more mutations (copy-on-write along their paths). */
export function applyMutations(root: Json, ms: readonly Mutation[]): Json {
  let out = root;
  for (const m of ms) out = applyOne(out, m, 0);
  return out;
}

function applyOne(node: Json, m: Mutation, depth: number): Json {
  if (depth === m.segs.length) return m.value;
  const seg = m.segs[depth] as Seg;
  const copy = copyOf(node) as Node;
  if (depth === m.segs.length - 1 && m.op === 'delete') {
    delete copy[seg];
    return copy;
  }
  const next = applyOne((node as Node)[seg], m, depth + 1);
  if (seg === '__proto__') Object.defineProperty(copy, seg, { value: next, enumerable: true, writable: true, configurable: true });
  else copy[seg] = next;
  return copy;
}

type S = Record<string, unknown>;

/** The branch of a oneOf/anyOf that describes `value`. */
function resolve(schema: S, value: unknown): S {
  if (Array.isArray(schema.oneOf)) {
    const variants = schema.oneOf as S[];
    const match = variants.find((v) => {
      const props = (v.properties ?? {}) as Record<string, S>;
      return Object.entries(props).every(([k, p]) => !('const' in p) || (value as Node | null)?.[k] === p.const);
    });
    return match ?? (variants[0] as S);
  }
  if (Array.isArray(schema.anyOf)) {
    const branches = schema.anyOf as S[];
    if (value === null) return { type: 'null' };
    return branches.find((b) => b.type !== 'null') as S;
  }
  return schema;
}

const allowsNull = (schema: S): boolean => Array.isArray(schema.anyOf) && (schema.anyOf as S[]).some((b) => b.type === 'null');

export const GARBAGE = { '\u{1F4A5}': { deep: [1, { x: null }, [[[]]]] } };
const WRONG_TYPES: readonly Json[] = [0, 1.5, -1, true, false, 'x', '', null, [], [1, 'a'], {}, GARBAGE];

/** Does `v` have a JSON type the (resolved) schema could accept? Then it is no type swap. */
function sameFamily(schema: S, v: Json): boolean {
  const t = schema.type;
  if ('const' in schema) return typeof v === typeof schema.const;
  if (Array.isArray(schema.enum)) return typeof v === 'string';
  if (t === 'string') return typeof v === 'string';
  if (t === 'integer' || t === 'number') return typeof v === 'number';
  if (t === 'boolean') return typeof v === 'boolean';
  if (t === 'array') return Array.isArray(v);
  if (t === 'object' || Array.isArray(schema.oneOf)) return typeof v === 'object' && v !== null && !Array.isArray(v);
  return true; // an any-JSON node: nothing is the wrong type
}

const UNKNOWN_KEYS = ['zz_unknown', '__proto__', 'constructor', 'toString', 'Kind', ''];
const ID_SHAPE = /^(hkey|holon|cell)1[02-9ac-hj-np-z]{58}$/;
const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/** A different valid-looking id: same payload, other kind prefix (checksum recomputed by the caller). */
export type Rekind = (id: string) => string[];

export interface Walker {
  /** Ids of the same key under the other prefixes (valid ids, wrong kind). */
  rekind: Rekind;
  /** How many items of each array to descend into (first n and the last). */
  itemsToVisit?: number;
}

export function generateMutations(sample: Json, schema: S, walker: Walker): Mutation[] {
  const out: Mutation[] = [];
  walk(sample, schema, [], out, walker);
  return out;
}

function walk(value: Json, raw: S, segs: Seg[], out: Mutation[], w: Walker): void {
  const schema = resolve(raw, value);
  const push = (kind: string, v: Json, exact = true): void => {
    out.push({ kind, segs, op: 'set', value: v, exact });
  };
  // Swap in every JSON type this node cannot be.
  // For a null in a nullable field, the wrong types are those its non-null branch refuses.
  const family = value === null && allowsNull(raw) ? resolve(raw, 0) : schema;
  const typed = 'type' in family || 'const' in family || 'enum' in family || 'oneOf' in raw;
  if (typed) {
    for (const v of WRONG_TYPES) {
      if (sameFamily(family, v) || (v === null && allowsNull(raw))) continue;
      push('type', v);
    }
  }
  if (value === null) return;
  if (schema.type === 'object') walkObject(value as Node, schema, segs, out, w);
  else if (schema.type === 'array') walkArray(value as unknown[], schema, segs, out, w);
  else if (schema.type === 'string' || Array.isArray(schema.enum) || typeof schema.const === 'string') walkString(value as string, schema, push, w);
  else if (schema.type === 'integer' || schema.type === 'number') walkNumber(value as number, schema, push);
  else if (typeof schema.const === 'boolean') push('const', !schema.const);
}

function walkObject(value: Node, schema: S, segs: Seg[], out: Mutation[], w: Walker): void {
  const props = (schema.properties ?? {}) as Record<string, S>;
  const required = new Set((schema.required ?? []) as string[]);
  for (const k of Object.keys(props)) {
    if (required.has(k) && k in value) out.push({ kind: 'drop', segs: [...segs, k], op: 'delete', exact: true });
  }
  for (const k of UNKNOWN_KEYS) out.push({ kind: 'unknown', segs: [...segs, k], op: 'set', value: 1, exact: true });
  out.push({ kind: 'garbage', segs, op: 'set', value: GARBAGE, exact: false });
  for (const [k, p] of Object.entries(props)) {
    if (k in value) {
      walk(value[k], p, [...segs, k], out, w);
    } else {
      // An absent optional field, present with a value of the wrong type.
      const wrong = WRONG_TYPES.find((v) => !sameFamily(resolve(p, v), v) && !(v === null && allowsNull(p)));
      if (wrong !== undefined) out.push({ kind: 'optional-type', segs: [...segs, k], op: 'set', value: wrong, exact: true });
    }
  }
}

function walkArray(value: unknown[], schema: S, segs: Seg[], out: Mutation[], w: Walker): void {
  const max = schema.maxItems as number;
  const min = (schema.minItems as number | undefined) ?? 0;
  const filler = value.length > 0 ? value[0] : GARBAGE;
  out.push({ kind: 'too-many-items', segs, op: 'set', value: new Array<unknown>(max + 1).fill(filler), exact: true });
  if (min > 0) out.push({ kind: 'too-few-items', segs, op: 'set', value: value.slice(0, min - 1), exact: true });
  const items = (schema.items ?? {}) as S;
  const wrongItem = WRONG_TYPES.find((v) => !sameFamily(resolve(items, v), v) && !(v === null && allowsNull(items)));
  if (wrongItem !== undefined && 'type' in resolve(items, value[0])) {
    out.push({ kind: 'bad-item', segs, op: 'set', value: [...value, wrongItem], exact: false });
  }
  const n = w.itemsToVisit ?? 2;
  for (let i = 0; i < value.length; i++) {
    if (i < n || i === value.length - 1) walk(value[i], items, [...segs, i], out, w);
  }
}

function walkString(value: string, schema: S, push: (kind: string, v: Json, exact?: boolean) => void, w: Walker): void {
  if (typeof schema.const === 'string') {
    push('const', `${value}X`);
    return;
  }
  if (Array.isArray(schema.enum)) {
    const members = new Set(schema.enum as string[]);
    for (const c of ['NOT_A_MEMBER', value.toLowerCase(), value.toUpperCase(), `${value} `]) if (!members.has(c)) push('enum', c);
    return;
  }
  const max = schema.maxLength as number;
  const min = (schema.minLength as number | undefined) ?? 0;
  push('too-long', 'a'.repeat(max + 1));
  push('far-too-long', 'A'.repeat(max * 4 + 64));
  if (min > 0) push('too-short', value.slice(0, min - 1));
  if (typeof schema.pattern === 'string') {
    const re = new RegExp(schema.pattern, 'u');
    const candidates = [`${value} `, ` ${value}`, `${value}\n`, `${value}\u0000`, `\u00e9${value}`, `${value}=`, `+${value.slice(1)}`, value.toUpperCase(), '!', '\u{1F4A5}'];
    for (const c of candidates) if (c.length >= min && c.length <= max && !re.test(c)) push('pattern', c);
  }
  if (schema.contentEncoding === 'base64url') {
    // A length that is 1 mod 4 is never base64.
    const pad = ((1 - (value.length % 4)) + 4) % 4 || 4;
    push('base64-length', value + 'A'.repeat(pad));
  }
  if (ID_SHAPE.test(value)) {
    const i = 20;
    const c = value[i] as string;
    push('id-checksum', value.slice(0, i) + (BECH32[(BECH32.indexOf(c) + 1) % 32] as string) + value.slice(i + 1));
    // Another kind of id over the same key: wrong where the schema names one kind
    // ("bech32m \"hkey\" …"), or where the pattern does not admit that prefix.
    const named = /bech32m "(\w+)"/.exec(typeof schema.description === 'string' ? schema.description : '')?.[1];
    const re = typeof schema.pattern === 'string' ? new RegExp(schema.pattern, 'u') : undefined;
    for (const other of w.rekind(value)) {
      if (named !== undefined ? !other.startsWith(`${named}1`) : re !== undefined && !re.test(other)) push('id-kind', other);
    }
  }
}

function walkNumber(value: number, schema: S, push: (kind: string, v: Json, exact?: boolean) => void): void {
  const min = schema.minimum as number;
  const max = schema.maximum as number;
  push('below-minimum', min - 1 >= -Number.MAX_SAFE_INTEGER ? min - 1 : -Infinity);
  push('above-maximum', max + 1);
  push('far-above-maximum', 1e300);
  push('not-finite', Number.NaN);
  push('not-finite', Number.POSITIVE_INFINITY);
  push('not-finite', Number.NEGATIVE_INFINITY);
  if (schema.type === 'integer') {
    push('not-integer', value + 0.5);
    push('unsafe-integer', 2 ** 53);
  }
}

/** Leaves of a JSON value, as paths, for single-field changes. */
export function leavesOf(value: Json, segs: Seg[] = [], out: Seg[][] = []): Seg[][] {
  if (Array.isArray(value)) value.forEach((v, i) => leavesOf(v, [...segs, i], out));
  else if (typeof value === 'object' && value !== null) for (const k of Object.keys(value)) leavesOf((value as Node)[k], [...segs, k], out);
  else out.push(segs);
  return out;
}

export function valueAt(root: Json, segs: readonly Seg[]): Json {
  let v = root;
  for (const s of segs) v = (v as Node)[s];
  return v;
}

const HEX = '0123456789abcdef';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function cycleAt(s: string, i: number, alphabet: string): string | undefined {
  const c = s[i];
  if (c === undefined) return undefined;
  const at = alphabet.indexOf(c);
  if (at < 0) return undefined;
  return s.slice(0, i) + (alphabet[(at + 1) % alphabet.length] as string) + s.slice(i + 1);
}

/**
 * Candidate single-field changes that may still parse: another member of an
 * enumeration, a neighbouring number, another id of the same kind, one
 * character changed within its alphabet. The caller keeps those that parse
 * (a seal must still catch them) — the point is a change the schema allows.
 */
export function alternativesOf(value: Json, raw: S, otherIds: (id: string) => string[], segs: Seg[] = [], out: Mutation[] = []): Mutation[] {
  const schema = resolve(raw, value);
  const set = (v: Json): void => {
    out.push({ kind: 'change', segs, op: 'set', value: v, exact: true });
  };
  if (Array.isArray(value)) {
    value.forEach((v, i) => alternativesOf(v, (schema.items ?? {}) as S, otherIds, [...segs, i], out));
  } else if (typeof value === 'object' && value !== null) {
    const props = (schema.properties ?? {}) as Record<string, S>;
    for (const k of Object.keys(value)) alternativesOf((value as Node)[k], props[k] ?? {}, otherIds, [...segs, k], out);
  } else if (typeof value === 'boolean') {
    set(!value);
  } else if (typeof value === 'number') {
    for (const v of [value + 1, value - 1, value + 0.25]) set(v);
  } else if (typeof value === 'string') {
    if (Array.isArray(schema.enum)) {
      for (const m of schema.enum as string[]) if (m !== value) set(m);
    } else if (ID_SHAPE.test(value)) {
      for (const id of otherIds(value)) set(id);
    } else {
      const n = value.length;
      for (const i of [n - 1, n - 2, Math.floor(n / 2), 0]) {
        for (const alphabet of [HEX, B64, ALNUM]) {
          const v = cycleAt(value, i, alphabet);
          if (v !== undefined) set(v);
        }
      }
      set(`${value}a`);
      set(value.slice(0, -1));
    }
  }
  return out;
}
