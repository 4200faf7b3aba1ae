/**
 * Fuzz corpus for every V1 wire object: ≥ 10,000 malformed inputs each, all
 * of which must be refused with a MalformedError or OversizeError — nothing
 * else, never accepted — and, where fields were mutated, a refusal that names
 * one of them. Valid samples parse, round-trip byte for byte, and (when
 * sealed) verify and stop verifying after any single-field change.
 */
import t, { type Test } from 'tap';
import fc from 'fast-check';
import { MalformedError, OversizeError, SealError } from '../../../bus-schemas/errors.js';
import { convertId, decodeId, encodeId, ID_PREFIXES, type IdKind } from '../../../bus-schemas/ids.js';
import { isSealedWireType, V1_OBJECTS, type AnyWireType } from '../../../bus-schemas/v1/registry.js';
import { alternativesOf, applyMutations, generateMutations, leavesOf, namesPath, pathOf, type Mutation } from './mutations.js';
import { SAMPLES, SIGNERS } from './samples.js';

const TARGET = 10_000;
const SEED = 0x5eed;
const text = new TextEncoder();

const KINDS = Object.keys(ID_PREFIXES) as IdKind[];
const rekind = (id: string): string[] => {
  const kind = decodeId(id).kind;
  return KINDS.filter((k) => k !== kind).map((k) => convertId(id, k));
};
const POOL = Object.values(SIGNERS).map((s) => Buffer.from(s.publicKey));
const otherIds = (id: string): string[] => {
  const { kind, publicKey } = decodeId(id);
  return POOL.filter((pk) => !pk.equals(publicKey))
    .slice(0, 2)
    .map((pk) => encodeId(kind, pk));
};

/** Returns why `fn` did not refuse as required, or undefined if it did. */
function whyNotRefused(fn: () => unknown, names: (path: string) => boolean, allowOversize: boolean): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof MalformedError) return names(e.path) ? undefined : `refused at ${e.path} (${e.reason})`;
    if (e instanceof OversizeError) return allowOversize ? undefined : `OversizeError: ${e.message}`;
    return `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
  return 'accepted';
}

function hasNonFinite(v: unknown): boolean {
  if (typeof v === 'number') return !Number.isFinite(v);
  if (Array.isArray(v)) return v.some(hasNonFinite);
  if (typeof v === 'object' && v !== null) return Object.values(v).some(hasNonFinite);
  return false;
}

const describeMutation = (ms: readonly Mutation[]): string => ms.map((m) => `${m.kind}@${pathOf(m.segs)}`).join(' + ');
const related = (a: Mutation, b: Mutation): boolean => {
  const pa = pathOf(a.segs);
  const pb = pathOf(b.segs);
  return pa === pb || pa.startsWith(`${pb}.`) || pa.startsWith(`${pb}[`) || pb.startsWith(`${pa}.`) || pb.startsWith(`${pa}[`);
};

/** Bytes that can never appear in JSON text: invalid UTF-8 lead/continuation bytes and bare control characters. */
const FORBIDDEN_BYTES = [0x00, 0x01, 0x07, 0x08, 0x0b, 0x0c, 0x1b, 0x1e, 0x1f, 0x80, 0xbf, 0xc0, 0xc1, 0xf5, 0xfe, 0xff];

function insertByte(bytes: Uint8Array, at: number, b: number): Uint8Array {
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes.subarray(0, at), 0);
  out[at] = b;
  out.set(bytes.subarray(at), at + 1);
  return out;
}

function fuzz(t: Test, w: AnyWireType, sample: unknown): void {
  const failures: string[] = [];
  let count = 0;
  const note = (what: string | (() => string), why: string | undefined): void => {
    count++;
    if (why !== undefined && failures.length < 20) failures.push(`${typeof what === 'string' ? what : what()}: ${why}`);
  };

  // 1. Targeted structural mutations, through parse and (for a share) through decode.
  const mutations = generateMutations(sample, w.jsonSchema(), { rekind });
  mutations.forEach((m, i) => {
    const input = applyMutations(sample, [m]);
    note(() => describeMutation([m]), whyNotRefused(() => w.parse(input), (p) => namesPath(p, m), false));
    if (i % 4 === 0 && !hasNonFinite(input)) {
      note(() => `decode ${describeMutation([m])}`, whyNotRefused(() => w.decode(JSON.stringify(input)), (p) => namesPath(p, m), true));
    }
  });
  const targeted = count;

  // 2. Byte-level garbage: truncations, forbidden bytes, trailing junk, oversize.
  const bytes = w.encode(sample);
  const at$ = (p: string): boolean => p === '$';
  const step = Math.max(1, Math.floor(bytes.length / 400));
  for (let n = 0; n < bytes.length; n += step) note(`truncated to ${n}`, whyNotRefused(() => w.decode(bytes.subarray(0, n)), at$, false));
  note('trailing junk', whyNotRefused(() => w.decode(Buffer.concat([bytes, text.encode('x')])), at$, false));
  note('two objects', whyNotRefused(() => w.decode(Buffer.concat([bytes, bytes])), at$, true));
  note('padded past the limit', whyNotRefused(() => w.decode(Buffer.concat([bytes, Buffer.alloc(w.maxBytes, 0x20)])), () => false, true));
  note('huge string', whyNotRefused(() => w.decode(JSON.stringify('a'.repeat(w.maxBytes + 1))), () => false, true));
  note('deep nesting', whyNotRefused(() => w.decode('['.repeat(Math.min(w.maxBytes, 200_000))), at$, false));

  // 3. Random combinations (fast-check): 2–3 unrelated mutations at once, and forbidden bytes anywhere.
  const remaining = Math.max(TARGET - count, 1000);
  const combos = Math.ceil(remaining * 0.6);
  const property = (run: () => void): void => {
    try {
      run();
    } catch (e) {
      failures.push(`fast-check: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  };
  property(() =>
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(mutations.length - 1), { minLength: 2, maxLength: 3 }), (picks) => {
        const chosen: Mutation[] = [];
        for (const i of picks) {
          const m = mutations[i] as Mutation;
          if (!chosen.some((c) => related(c, m))) chosen.push(m);
        }
        const input = applyMutations(sample, chosen);
        const why = whyNotRefused(() => w.parse(input), (p) => chosen.some((m) => namesPath(p, m)), false);
        note(() => describeMutation(chosen), why);
        return why === undefined;
      }),
      { numRuns: combos, seed: SEED, endOnFailure: true },
    ),
  );
  property(() =>
    fc.assert(
      fc.property(fc.nat(bytes.length), fc.constantFrom(...FORBIDDEN_BYTES), (at, b) => {
        const why = whyNotRefused(() => w.decode(insertByte(bytes, at, b)), at$, false);
        note(() => `byte 0x${b.toString(16)} at ${at}`, why);
        return why === undefined;
      }),
      { numRuns: remaining - combos, seed: SEED, endOnFailure: true },
    ),
  );

  t.same(failures, [], `every malformed ${w.name} is refused with a typed error naming the mutated field`);
  t.ok(count >= TARGET, `${count} malformed inputs (${targeted} targeted, ${mutations.length} distinct mutations)`);
}

function roundTrip(t: Test, w: AnyWireType, sample: unknown): void {
  t.same(w.parse(sample), sample, 'the sample parses to itself');
  const bytes = w.encode(sample);
  t.ok(bytes.length <= w.maxBytes, `sample fits the limit (${bytes.length} ≤ ${w.maxBytes} bytes)`);
  const decoded = w.decode(bytes);
  t.same(decoded, sample, 'decode(encode(x)) = x');
  t.equal(Buffer.compare(Buffer.from(w.encode(decoded)), Buffer.from(bytes)), 0, 'encode(decode(bytes)) is byte-identical');
  t.equal(w.digest(decoded), w.digest(sample), 'digest survives the round trip');
}

function sealChecks(t: Test, w: AnyWireType, sample: unknown): void {
  if (!isSealedWireType(w)) return;
  const value = sample as Record<string, unknown>;
  w.verify(value);
  w.verify(w.decode(w.encode(value)));
  t.pass(`${w.name} sample verifies, also after a round trip`);
  const changes = alternativesOf(sample, w.jsonSchema(), otherIds);
  const failures: string[] = [];
  const changedLeaves = new Set<string>();
  let parseable = 0;
  for (const m of changes) {
    const changed = applyMutations(sample, [m]) as Record<string, unknown>;
    let parses = true;
    try {
      w.parse(changed);
    } catch {
      parses = false;
    }
    if (!parses) continue; // refused before any seal is looked at (e.g. a seal alg other than ed25519)
    parseable++;
    changedLeaves.add(pathOf(m.segs));
    try {
      w.verify(changed);
      failures.push(`still verifies after changing ${pathOf(m.segs)}`);
    } catch (e) {
      if (!(e instanceof SealError)) failures.push(`${pathOf(m.segs)}: threw ${String(e)}`);
    }
  }
  t.same(failures.slice(0, 10), [], `no parseable single-field change of ${w.name} keeps the seal valid`);
  const leaves = leavesOf(sample).map(pathOf);
  const untouched = leaves.filter((p) => !changedLeaves.has(p));
  t.comment(`${w.name}: ${parseable} parseable changes over ${changedLeaves.size}/${leaves.length} fields; unchanged: ${untouched.join(' ')}`);
  t.ok(parseable > 0 && changedLeaves.size > 0, `${parseable} of the changes still parse, over ${changedLeaves.size} fields`);
}

void t.test('every registry object has a sample and every sample an object', async (t) => {
  t.same(V1_OBJECTS.map((w) => w.name).sort(), Object.keys(SAMPLES).sort());
  t.equal(new Set(V1_OBJECTS.map((w) => w.name)).size, V1_OBJECTS.length, 'names are unique');
});

// Refusals are counted, not printed: skip capturing a stack for each of the ~200,000 errors
// (that capture alone was two thirds of this file's run time).
const STACK_TRACE_LIMIT = Error.stackTraceLimit;

for (const w of V1_OBJECTS) {
  void t.test(w.name, async (t) => {
    const build = SAMPLES[w.name];
    if (build === undefined) {
      t.fail(`no sample for ${w.name}`);
      return;
    }
    const sample = build();
    roundTrip(t, w, sample);
    sealChecks(t, w, sample);
    Error.stackTraceLimit = 0;
    try {
      fuzz(t, w, sample);
    } finally {
      Error.stackTraceLimit = STACK_TRACE_LIMIT;
    }
  });
}
