import t from 'tap';
import fc from 'fast-check';
import canonicalize from 'canonicalize';
import { canonicalBytes, canonicalString } from '../../bus-schemas/canonical.js';
import { MalformedError, OversizeError } from '../../bus-schemas/errors.js';
import { ProvisioningRequestV1 } from '../../bus-schemas/v1/provisioning-request.js';
import { decodeJson } from '../../bus-schemas/wire.js';
import { refusesExactly as refuses } from './v1/refuses-exactly.js';
import { provisioningRequest } from './v1/samples.js';

const LIMIT = 1 << 20;
const decode = (input: string | Uint8Array): unknown => decodeJson(input, 'Test', LIMIT);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const malformed = (path: string, reason: string) => ({ code: 'HOLON_E_MALFORMED', path, reason, message: `${path}: ${reason}` });

// --- exact refusals ------------------------------------------------------------------------------

void t.test('duplicate member names are refused at the object path plus the name', async (t) => {
  refuses(t, () => decode('{"a":1,"b":2,"a":3}'), malformed('$.a', 'duplicate key "a"'), 'top level');
  refuses(t, () => decode(utf8('{"a":1,"a":1}')), malformed('$.a', 'duplicate key "a"'), 'same value too, from bytes');
  refuses(t, () => decode('{"x":[1,{"y":{"k":1,"k":2}}]}'), malformed('$.x[1].y.k', 'duplicate key "k"'), 'nested in arrays and objects');
  refuses(t, () => decode('[[],[0,[{}, {"q":null,"q":[]}]]]'), malformed('$[1][1][1].q', 'duplicate key "q"'), 'inside arrays only');
  refuses(t, () => decode('{ "a" : {"b":1} ,\n\t"a" : 2 }'), malformed('$.a', 'duplicate key "a"'), 'blanks around the colons');
  refuses(t, () => decode('{"a":1,"\\u0061":2}'), malformed('$.a', 'duplicate key "a"'), 'equal after unescaping');
  refuses(t, () => decode('{"\\u00e9":1,"é":2}'), malformed('$["é"]', 'duplicate key "é"'), 'escaped first, raw second');
  refuses(t, () => decode('{"a b":1,"a b":2}'), malformed('$["a b"]', 'duplicate key "a b"'), 'a name that is not an identifier');
  refuses(t, () => decode('{"a\\"b":1,"a\\u0022b":2}'), malformed('$["a\\"b"]', 'duplicate key "a\\"b"'), 'an escaped quote in the name');
  refuses(t, () => decode('{"":1,"":2}'), malformed('$[""]', 'duplicate key ""'), 'the empty name');
  refuses(t, () => decode('{"__proto__":1,"__proto__":2}'), malformed('$.__proto__', 'duplicate key "__proto__"'), '__proto__');
  refuses(t, () => decode('{"a":{"b":1,"b":2},"a":3}'), malformed('$.a.b', 'duplicate key "b"'), 'the first problem in the text is named');
  refuses(t, () => decode('{"x":"\\":","x":1}'), malformed('$.x', 'duplicate key "x"'), 'a quote and colon inside a string');
  const many = Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',');
  refuses(t, () => decode(`{"o":{${many},"k3":0}}`), malformed('$.o.k3', 'duplicate key "k3"'), 'many members');

  t.same(decode('[{"a":1},{"a":2}]'), [{ a: 1 }, { a: 2 }], 'the same name in sibling objects');
  t.same(decode('{"a":{"a":{"a":1}}}'), { a: { a: { a: 1 } } }, 'the same name in nested objects');
  t.same(decode('{"k":":x","a\\":":1,"b" :":"}'), { k: ':x', 'a":': 1, b: ':' }, 'colons inside strings');
  t.same(decode('{"a":1,"A":2,"a ":3}'), { a: 1, A: 2, 'a ': 3 }, 'names differing in case or blanks');
});

void t.test('lone surrogates are refused in values and names, escaped or raw', async (t) => {
  refuses(t, () => decode('{"s":"x\\ud800y"}'), malformed('$.s', 'lone surrogate \\ud800 in string'), 'lone high surrogate');
  refuses(t, () => decode('["ok","\\udc00"]'), malformed('$[1]', 'lone surrogate \\udc00 in string'), 'lone low surrogate');
  refuses(t, () => decode('"\\uD83D"'), malformed('$', 'lone surrogate \\ud83d in string'), 'high surrogate at the end, upper-case hex');
  refuses(t, () => decode('{"a":["\\ud83d\\ud83d\\ude00"]}'), malformed('$.a[0]', 'lone surrogate \\ud83d in string'), 'high followed by a pair');
  refuses(t, () => decode('"\\ude00\\ud83d"'), malformed('$', 'lone surrogate \\ude00 in string'), 'a pair in the wrong order');
  refuses(t, () => decode('{"\\ud800":1}'), malformed('$["\\ud800"]', 'lone surrogate \\ud800 in key'), 'as a member name');
  refuses(t, () => decode('{"o":{"x\\udfff":{}}}'), malformed('$.o["x\\udfff"]', 'lone surrogate \\udfff in key'), 'as a nested name');
  refuses(t, () => decode('"\ud800"'), malformed('$', 'lone surrogate \\ud800 in string'), 'raw, in a JS string argument');
  refuses(t, () => decode('{"\udc00x":"y"}'), malformed('$["\\udc00x"]', 'lone surrogate \\udc00 in key'), 'raw, as a name');

  t.same(decode('{"\\ud83d\\ude00":"\\uD83D\\uDE00"}'), { '\u{1f600}': '\u{1f600}' }, 'an escaped pair is one character');
  t.same(decode(utf8('{"😀":"😀"}')), { '😀': '😀' }, 'a raw pair from UTF-8');
  t.same(decode('["\\ud83d\ude00","\ud83d\\ude00"]'), ['😀', '😀'], 'a pair half escaped, half raw');
  t.equal(decode('"\\\\ud800"'), '\\ud800', 'an escaped backslash then "ud800" is text, not an escape');
  t.same(decode('{"\\\\udc00":"\\\\\\ud83d\\ude00"}'), { '\\udc00': '\\😀' }, 'the same in a name, and before a real pair');
});

void t.test('other refusals are unchanged', async (t) => {
  refuses(t, () => decode('{"a":1,}'), { code: 'HOLON_E_MALFORMED', path: '$', reason: /^invalid JSON \(/ }, 'syntax error');
  refuses(t, () => decode('{"a":1,"a":2'), { path: '$', reason: /^invalid JSON \(/ }, 'a syntax error wins over a duplicate');
  refuses(t, () => decode('\ufeff{}'), { path: '$', reason: /^invalid JSON \(/ }, 'a BOM');
  refuses(t, () => decode(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])), malformed('$', 'not valid UTF-8'), 'a surrogate encoded in UTF-8 bytes');
  refuses(t, () => decodeJson('[1,2,3]', 'Test', 6), OversizeError, 'oversize');
});

void t.test('deep nesting neither overflows the stack nor hides a problem', async (t) => {
  const depth = 10_000;
  let inner = decode(`${'['.repeat(depth)}{"a":1}${']'.repeat(depth)}`);
  for (let d = 0; d < depth; d++) inner = (inner as unknown[])[0];
  t.same(inner, { a: 1 }, 'accepted');
  const e = refuses(t, () => decode(`${'['.repeat(depth)}{"a":1,"a":2}${']'.repeat(depth)}`), MalformedError) as MalformedError;
  t.equal(e.path, `$${'[0]'.repeat(depth)}.a`);
  t.equal(e.reason, 'duplicate key "a"');
});

void t.test('an enumerable key on Object.prototype changes nothing', async (t) => {
  const proto = Object.prototype as Record<string, unknown>;
  proto.polluted = 1;
  try {
    refuses(t, () => decode('{"a":1,"a":2}'), malformed('$.a', 'duplicate key "a"'));
    refuses(t, () => decode('[{},{"b":{"c":0,"c":0}}]'), malformed('$[1].b.c', 'duplicate key "c"'));
    t.same(Object.keys(decode('{"a":1,"b":{"c":[{}]}}') as object), ['a', 'b']);
  } finally {
    delete proto.polluted;
  }
});

void t.test('the encoder refuses lone surrogates with their path (RFC 8785 §3.2.2.2)', async (t) => {
  refuses(t, () => canonicalString({ s: 'a\ud800' }), malformed('$.s', 'lone surrogate \\ud800 in string'));
  refuses(t, () => canonicalString({ a: [1, { b: '\udc00\ud800' }] }), malformed('$.a[1].b', 'lone surrogate \\udc00 in string'));
  refuses(t, () => canonicalBytes({ ok: 1, '\udc00': 1 }), malformed('$["\\udc00"]', 'lone surrogate \\udc00 in key'));
  refuses(t, () => canonicalString('\ud83d'), malformed('$', 'lone surrogate \\ud83d in string'));
  t.equal(canonicalString({ '\ud83d\ude00': ['\ud83d\ude00'] }), '{"😀":["😀"]}', 'pairs are fine');
  t.equal(canonicalString(['\\ud800']), '["\\\\ud800"]', 'a backslash and text is fine');
});

// --- a real wire object --------------------------------------------------------------------------

void t.test('a ProvisioningRequestV1 with a second requested_role is refused', async (t) => {
  const text = new TextDecoder().decode(ProvisioningRequestV1.encode(provisioningRequest()));
  t.equal(ProvisioningRequestV1.decode(utf8(text)).requested_role, 'BUILD_WORKER', 'the sealed request decodes');
  const before = text.replace('"requested_role":"BUILD_WORKER"', '"requested_role":"RELAY","requested_role":"BUILD_WORKER"');
  const after = `${text.slice(0, -1)},"requested_role":"GENERAL_COMPUTE"}`;
  const escaped = `${text.slice(0, -1)},"requested_rol\\u0065":"GENERAL_COMPUTE"}`;
  for (const [what, forged] of [['before', before], ['after', after], ['escaped', escaped]] as const) {
    t.not(forged, text);
    refuses(t, () => ProvisioningRequestV1.decode(utf8(forged)), malformed('$.requested_role', 'duplicate key "requested_role"'), what);
  }
  t.equal((JSON.parse(after) as { requested_role: string }).requested_role, 'GENERAL_COMPUTE', 'what plain JSON.parse would have read');
});

// --- properties ----------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

// JSON values with exact JSON forms; names include the characters the scan must get right.
const nameArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.string({ unit: fc.constantFrom('a', 'b', ':', '"', '\\', ' ', 'é', '😀'), maxLength: 4 }),
);
const jsonArb: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d) || Number.isSafeInteger(d)),
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: 'binary' }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(nameArb.filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 5 }),
  ),
})).value;

interface Style {
  /** Write every code unit of every string as \uXXXX. */
  escape: boolean;
  upper: boolean;
  /** Blank text around every structural character. */
  blank: string;
}
const styleArb: fc.Arbitrary<Style> = fc.record({ escape: fc.boolean(), upper: fc.boolean(), blank: fc.constantFrom('', ' ', '\n\t ', '\r\n') });

const hex4 = (c: number, upper: boolean): string => {
  const h = c.toString(16).padStart(4, '0');
  return upper ? h.toUpperCase() : h;
};
function quote(s: string, style: Style): string {
  if (!style.escape) return JSON.stringify(s);
  let out = '"';
  for (let i = 0; i < s.length; i++) out += `\\u${hex4(s.charCodeAt(i), style.upper)}`;
  return `${out}"`;
}

/** The test's own statement of the path style: `.name` for identifiers, `["…"]` otherwise. */
const member = (path: string, name: string): string =>
  /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;

/** A JSON text as a tree we can add members to; each member keeps its name and the text that writes it. */
type Member = { name: string; key: string; value: Doc };
type Doc = { kind: 'object'; path: string; members: Member[] } | { kind: 'array'; path: string; items: Doc[] } | { kind: 'text'; text: string };
type Container = Exclude<Doc, { kind: 'text' }>;

function toDoc(v: Json, path: string, style: Style, containers: Container[]): Doc {
  if (Array.isArray(v)) {
    const d: Doc = { kind: 'array', path, items: [] };
    containers.push(d);
    v.forEach((x, i) => d.items.push(toDoc(x, `${path}[${i}]`, style, containers)));
    return d;
  }
  if (v !== null && typeof v === 'object') {
    const d: Doc = { kind: 'object', path, members: [] };
    containers.push(d);
    for (const name of Object.keys(v)) {
      d.members.push({ name, key: quote(name, style), value: toDoc(v[name] as Json, member(path, name), style, containers) });
    }
    return d;
  }
  return { kind: 'text', text: typeof v === 'string' ? quote(v, style) : JSON.stringify(v) };
}

function print(d: Doc, b: string): string {
  switch (d.kind) {
    case 'text':
      return d.text;
    case 'array':
      return `[${b}${d.items.map((x) => print(x, b)).join(`${b},${b}`)}${b}]`;
    case 'object':
      return `{${b}${d.members.map((m) => `${m.key}${b}:${b}${print(m.value, b)}`).join(`${b},${b}`)}${b}}`;
  }
}

function docOf(v: Json, style: Style): { root: Doc; containers: Container[] } {
  const containers: Container[] = [];
  return { root: toDoc(v, '$', style, containers), containers };
}

void t.test('random valid JSON: accepted, and JCS of it equals the canonicalize package and is idempotent', async (t) => {
  let runs = 0;
  fc.assert(
    fc.property(jsonArb, styleArb, (v, style) => {
      runs++;
      const text = print(docOf(v, style).root, style.blank);
      const decoded = decode(utf8(text));
      const jcs = canonicalString(decoded);
      if (jcs !== canonicalize(v) || jcs !== canonicalize(decoded)) return false;
      return canonicalString(decode(utf8(jcs))) === jcs && canonicalString(decode(text)) === jcs;
    }),
    { numRuns: 1500 },
  );
  t.equal(runs, 1500);
});

void t.test('random JSON with a duplicate name injected anywhere: refused at that object and name', async (t) => {
  let runs = 0;
  fc.assert(
    fc.property(jsonArb, styleArb, fc.nat(), fc.nat(), fc.nat(), jsonArb, fc.boolean(), (v, style, which, nameAt, insertAt, extra, escapeDup) => {
      runs++;
      // A value without a non-empty object is wrapped in one.
      const hasObject = (d: { containers: Container[] }) => d.containers.some((c) => c.kind === 'object' && c.members.length > 0);
      let doc = docOf(v, style);
      if (!hasObject(doc)) doc = docOf({ w: v }, style);
      const { root, containers } = doc;
      const objects = containers.filter((c): c is Extract<Doc, { kind: 'object' }> => c.kind === 'object' && c.members.length > 0);
      const target = objects[which % objects.length] as Extract<Doc, { kind: 'object' }>;
      const i = nameAt % target.members.length;
      const name = (target.members[i] as Member).name;
      // The second occurrence goes anywhere after the first, written plainly or escaped.
      const at = i + 1 + (insertAt % (target.members.length - i));
      target.members.splice(at, 0, { name, key: quote(name, { ...style, escape: escapeDup }), value: docOf(extra, style).root });
      const text = print(root, style.blank);
      const e = catchError(() => decode(utf8(text)));
      return e instanceof MalformedError && e.path === member(target.path, name) && e.reason === `duplicate key ${JSON.stringify(name)}`;
    }),
    { numRuns: 1000 },
  );
  t.equal(runs, 1000);
});

const loneArb = fc
  .record({
    unit: fc.integer({ min: 0xd800, max: 0xdfff }),
    before: fc.string({ unit: 'grapheme-ascii', maxLength: 3 }),
    after: fc.string({ unit: 'grapheme-ascii', maxLength: 3 }),
  })
  .map(({ unit, before, after }) => ({ unit, before, after, text: before + String.fromCharCode(unit) + after }));

void t.test('random JSON with a lone surrogate injected anywhere: refused at that string or name', async (t) => {
  let runs = 0;
  fc.assert(
    fc.property(
      jsonArb,
      styleArb,
      fc.nat(),
      fc.nat(),
      loneArb,
      fc.constantFrom('value', 'name'),
      fc.constantFrom('escaped', 'raw'),
      (v, style, which, insertAt, lone, where, form) => {
        runs++;
        // A scalar is wrapped in an array.
        let doc = docOf(v, style);
        if (doc.containers.length === 0) doc = docOf([v], style);
        const { root, containers } = doc;
        const target = containers[which % containers.length] as Container;
        // Raw, the lone surrogate stays one code unit of the JS string; escaped, it is \udXXX (JSON.stringify's
        // well-formed output escapes exactly the lone surrogate).
        const inner = (s: string) => JSON.stringify(s).slice(1, -1);
        const written =
          form === 'raw' ? `"${inner(lone.before)}${String.fromCharCode(lone.unit)}${inner(lone.after)}"` : style.escape ? quote(lone.text, style) : JSON.stringify(lone.text);
        let path: string;
        let what = 'string';
        if (target.kind === 'array') {
          const at = insertAt % (target.items.length + 1);
          target.items.splice(at, 0, { kind: 'text', text: written });
          path = `${target.path}[${at}]`;
        } else {
          const at = insertAt % (target.members.length + 1);
          if (where === 'name') {
            target.members.splice(at, 0, { name: lone.text, key: written, value: { kind: 'text', text: '0' } });
            path = member(target.path, lone.text);
            what = 'key';
          } else {
            const fresh = 'fresh_member'; // longer than any generated name
            target.members.splice(at, 0, { name: fresh, key: quote(fresh, style), value: { kind: 'text', text: written } });
            path = member(target.path, fresh);
          }
        }
        const text = print(root, style.blank);
        const e = catchError(() => decode(form === 'raw' ? text : utf8(text)));
        return e instanceof MalformedError && e.path === path && e.reason === `lone surrogate \\u${hex4(lone.unit, false)} in ${what}`;
      },
    ),
    { numRuns: 1000 },
  );
  t.equal(runs, 1000);
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}
