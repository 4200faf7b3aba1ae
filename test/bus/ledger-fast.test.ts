/**
 * The replay's fast path (fast-entry.ts, canonical-text.ts) against the
 * general one (strict LedgerEntryV1.decode + RFC 8785 re-encoding): whatever
 * the fast path accepts, the general path must accept as the same value; and
 * it must accept the ordinary entries, or it would not be a fast path.
 */
import t from 'tap';
import { canonicalString } from '../../bus-schemas/canonical.js';
import { encodeId } from '../../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed } from '../../bus-schemas/keys.js';
import { isCanonicalText } from '../../bus-schemas/ledger/canonical-text.js';
import { checkEntryBytes, emptyFacts } from '../../bus-schemas/ledger/check-entry.js';
import { acceptCanonicalEntry } from '../../bus-schemas/ledger/fast-entry.js';
import { sealNextEntry } from '../../bus-schemas/ledger/next-entry.js';
import type { JsonValue } from '../../bus-schemas/json-value.js';
import type { LedgerOwner } from '../../bus-schemas/subjects.js';
import { LedgerEntryV1 } from '../../bus-schemas/v1/ledger-entry.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';

const signer = signerFromSeed(generateEd25519().seed);
const owner = encodeId('holon', generateEd25519().publicKey);
const otherOwner = encodeId('cell', generateEd25519().publicKey);
const enc = new TextEncoder();

const BODIES: JsonValue[] = [
  {},
  { cpu_ms: 1234, egress_bytes: 56789, request: 'sha256:4f1c' },
  { '1': 'a', '10': 'b', '2': 'c' }, // integer-like keys: canonical, but Object.keys reorders them
  { a: [1, 2.5, -3, 1e-7, 6.02e-23, true, null, 'x'], b: { c: { d: 'é€😀' } } },
  { s: 'quote " backslash \\ newline \n tab \t ctl \u0001 ls \u2028' },
  { kind: 'NOT_THE_KIND', owner: 'x', seq: 1, writer_seal: 'y' },
  ['a', ',"kind":"', { ',"kind":"X","owner":"': 1 }],
  'just a string',
  42,
  null,
];

/** The general path's verdict: the decoded entry if the bytes are a valid, canonical entry of `o`, else null. */
function general(bytes: Uint8Array, o: LedgerOwner): LedgerEntryV1 | null {
  try {
    const e = LedgerEntryV1.decode(bytes);
    if (e.owner !== o) return null;
    return canonicalString(e) === new TextDecoder().decode(bytes) ? e : null;
  } catch {
    return null;
  }
}

const samples = BODIES.flatMap((body, i) => [
  sealNextEntry(null, { owner, kind: 'METERED', body, at: timeAt(1_700_000_000_000 + i) }, signer),
  sealNextEntry({ seq: 41 + i, digest: `sha256:${'ab'.repeat(32)}` }, { owner, kind: 'A_1', body, at: timeAt(0, 'LOGICAL') }, signer),
]);

void t.test('every ordinary entry takes the fast path, as the same value', async (t) => {
  for (const [i, s] of samples.entries()) {
    const text = new TextDecoder().decode(s.bytes);
    const fast = acceptCanonicalEntry(text, owner);
    t.ok(fast !== null, `fast path for sample ${i}`); // (not the text: a raw U+2028 would split the TAP line)
    t.same(fast, general(s.bytes, owner));
    t.same(fast, s.entry);
    t.equal(acceptCanonicalEntry(text, otherOwner), null, 'another owner: left to the general path');
  }
});

function mutations(text: string): string[] {
  const out: string[] = [];
  const chars = [' ', '"', '\\', '0', '1', '9', 'A', 'a', '}', '{', ',', ':', '-', 'e', '.', 'n', '\u00e9'];
  for (let i = 0; i < text.length; i += 3) {
    for (const c of chars) out.push(text.slice(0, i) + c + text.slice(i + 1)); // replace
    out.push(text.slice(0, i) + ' ' + text.slice(i)); // insert whitespace
    out.push(text.slice(0, i) + text.slice(i + 1)); // delete
  }
  const swaps: [string, string][] = [
    ['"seq":', '"seq":0'],
    ['"unix_ms":', '"unix_ms":-'],
    ['"unix_ms":1', '"unix_ms":1.0'],
    ['METERED', 'MET\\u0045RED'],
    ['"prev":null', '"prev":null,"extra":1'],
    ['{"alg"', '{"x":1,"alg"'],
    ['"source":"SYSTEM"', '"source":"CLOCK"'],
    ['"kind":"METERED"', '"kind":"_METERED"'],
    ['hkey1', 'holon1'],
    ['"at":{"source":"SYSTEM","unix_ms":1700000000000}', '"at":{"unix_ms":1700000000000,"source":"SYSTEM"}'],
  ];
  for (const [a, b] of swaps) if (text.includes(a)) out.push(text.replace(a, b));
  out.push(`${text} `, `\ufeff${text}`, text.replace('"body":', '"body" :'), text.replace(/"seq":(\d+)/, '"seq":1e1'));
  return out;
}

void t.test('on thousands of mutations, the fast path never accepts what the general path refuses', async (t) => {
  let checked = 0;
  let acceptedByFast = 0;
  let disagreements = 0;
  for (const s of samples.slice(0, 8)) {
    for (const m of mutations(new TextDecoder().decode(s.bytes))) {
      checked += 1;
      const fast = acceptCanonicalEntry(m, owner);
      if (fast === null) continue;
      acceptedByFast += 1;
      const slow = general(enc.encode(m), owner);
      if (slow === null || JSON.stringify(slow) !== JSON.stringify(fast)) {
        disagreements += 1;
        t.fail(`fast path accepted ${JSON.stringify(m).replace(/\u2028/g, '\\u2028')}`);
      }
    }
  }
  t.ok(checked > 5000, `${checked} mutations`);
  t.equal(disagreements, 0, `${acceptedByFast} mutants still valid and canonical (e.g. a changed digit in the body), all agreed`);
});

void t.test('checkEntryBytes gives the general path’s verdicts and reasons on bad bytes', async (t) => {
  const s = samples[2] as (typeof samples)[number];
  const text = new TextDecoder().decode(s.bytes);
  const facts = emptyFacts();
  const check = (x: string) => checkEntryBytes(owner, 'ledger.x', enc.encode(x), new Set(), facts);
  t.equal(check(text), null);
  t.equal(facts.digest, s.digest, 'digest hashed from the received bytes');
  t.equal(facts.text, text);
  t.match(check(text.replace('{"at"', '{ "at"')), { reason: 'NON_CANONICAL', entry_seq: 1 });
  t.match(check(text.replace('"seq":1', '"seq":0')), { reason: 'MALFORMED', detail: '$.seq: integer below minimum 1' });
  t.match(check(`\ufeff${text}`), { reason: 'MALFORMED' });
  t.match(checkEntryBytes(otherOwner, 'ledger.y', s.bytes, new Set(), facts), { reason: 'OWNER_MISMATCH' });
  t.match(checkEntryBytes(owner, 'ledger.x', s.bytes, new Set([encodeId('key', generateEd25519().publicKey)]), facts), {
    reason: 'UNTRUSTED_WRITER',
  });
});

void t.test('isCanonicalText: the fast answer and the exact fallback', async (t) => {
  const yes = ['{}', '[]', '{"1":1,"10":2,"2":3}', '{"a":{"b":[1,{"c":null}]}}', '"\\u0001"', '1e+21', '{"é":1,"😀":2}'];
  for (const text of yes) t.ok(isCanonicalText(JSON.parse(text), text), text);
  const no = ['{"b":1,"a":2}', '{"a":1,"a":1}', '{ "a":1}', '1.0', '"\\u0041"', '1E21', '1e999', '{"2":1,"10":2}', '-0'];
  for (const text of no) t.notOk(isCanonicalText(JSON.parse(text), text), text);
});
