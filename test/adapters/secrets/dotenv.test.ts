/**
 * renderDotEnv / parseDotEnv: a value can never start another line or define
 * another variable, neither for our parser nor for a real POSIX shell that
 * sources the file (`set -a; . ./.env`, then `env -0`); parse(render(x)) = x
 * for any variables (fast-check); the strict grammar refuses everything else
 * with a line number and without echoing the value.
 */
import t from 'tap';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SECRET_NAME_PATTERN } from '../../../bus-schemas/units/secret-port.js';
import { DotEnvError, parseDotEnv, renderDotEnv } from '../../../adapters/secrets/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'holonet-dotenv-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const MARKER = join(tmp, 'pwned');

/** A test name for a hostile text: ASCII only (TAP is line-based; U+2028, NUL and CR must not reach it). */
const show = (s: string): string => JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Values built to break out of a line, a quote or into the shell. */
const HOSTILE: string[] = [
  'x\nEVIL=1',
  "x'\nEVIL=1",
  'x"\nEVIL=1',
  "it's",
  'say "hi"',
  `$(touch ${MARKER})`,
  `\`touch ${MARKER}\``,
  `"; touch ${MARKER}; "`,
  `'; touch ${MARKER}; '`,
  '${HOME}',
  '$HOME',
  'back\\slash',
  '\\',
  '\\n',
  'a\\',
  "'",
  '"',
  'cr\r\nEVIL=1',
  'lone\rcr',
  'ls\u2028EVIL=1',
  'ps\u2029EVIL=1',
  'nel\u0085EVIL=1',
  'vt\u000bff\u000c',
  '\u001b[31mred',
  'del\u007f',
  'tab\there',
  ' leading and trailing ',
  '#not a comment',
  'a#b',
  '=',
  'K=V',
  '',
  'ünïcödé ✓ 🔑',
  '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n',
];

const vars: Record<string, string> = {};
HOSTILE.forEach((v, i) => (vars[`V${String(i).padStart(2, '0')}`] = v));

void t.test('render: sorted, one line per variable, every value quoted', async (t) => {
  const out = renderDotEnv({ tenant: 'acme', vars: { ZED: 'z', ALPHA: 'a b', MID: "it's" } });
  t.equal(out, `ALPHA='a b'\nMID="it's"\nZED='z'\n`);
  t.equal(renderDotEnv({ tenant: 'acme', vars: {} }), '', 'no variables: empty file');
  t.equal(renderDotEnv({ tenant: 'acme', vars: { A: '$HOME' } }), "A='$HOME'\n", '$ stays literal inside single quotes');
  t.equal(renderDotEnv({ tenant: 'acme', vars: { A: 'x\ny$' } }), 'A="x\\ny\\$"\n', 'double quotes escape LF and $');
  t.equal(renderDotEnv({ tenant: 'acme', vars: { A: 'a\u2028b\u0001' } }), 'A="a\\u2028b\\u0001"\n', 'separators and controls as \\u');
  const out2 = renderDotEnv({ tenant: 'acme', vars });
  t.equal(renderDotEnv({ tenant: 'acme', vars: Object.fromEntries(Object.entries(vars).reverse()) }), out2, 'insertion order does not matter');
});

void t.test('injection: hostile values stay one variable each, for parseDotEnv', async (t) => {
  const out = renderDotEnv({ tenant: 'acme', vars });
  const lines = out.split('\n');
  t.equal(lines.pop(), '', 'ends with LF');
  t.equal(lines.length, HOSTILE.length, 'exactly one line per variable');
  lines.forEach((l, i) => t.ok(l.startsWith(`V${String(i).padStart(2, '0')}=`), `line ${i + 1} defines V${i} only`));
  t.notOk(['\r', '\u0085', '\u2028', '\u2029', '\u000b', '\u000c'].some((c) => out.includes(c)), 'no raw line-breaking character anywhere in the file');
  t.same(parseDotEnv(out), vars, 'parse(render(x)) = x');
});

void t.test('injection: a real /bin/sh sourcing the file defines exactly these variables and runs nothing', async (t) => {
  const file = join(tmp, 'hostile.env');
  writeFileSync(file, renderDotEnv({ tenant: 'acme', vars }), { mode: 0o600 });
  const r = spawnSync('/bin/sh', ['-c', 'set -a; . "$1"; env -0', 'sh', file], { env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
  t.equal(r.status, 0, `sh exits 0 (${r.stderr})`);
  const env = new Map<string, string>();
  for (const entry of r.stdout.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  t.notOk(env.has('EVIL'), 'no injected variable');
  t.notOk(existsSync(MARKER), 'no command ran');
  const defined = [...env.keys()].filter((k) => /^V\d\d$/.test(k)).sort();
  t.same(defined, Object.keys(vars).sort(), 'every variable defined, none extra');
  // sh does not decode \n, \r, \uXXXX inside double quotes: those values come back escaped (not injected);
  // every value without a line-breaking or control character comes back exactly.
  // eslint-disable-next-line no-control-regex
  const plain = /^[^\u0000-\u0008\u000a-\u001f\u007f\u0085\u2028\u2029]*$/;
  for (const [name, value] of Object.entries(vars)) {
    if (plain.test(value)) t.equal(env.get(name), value, `${name} reads back exactly in sh`);
    else t.ok(env.get(name)?.includes('\\'), `${name} stays escaped in sh`);
  }
});

void t.test('render refuses bad names, NUL and lone surrogates, without echoing values', async (t) => {
  for (const name of ['1ABC', 'A-B', 'A B', '', 'X'.repeat(129), 'É']) {
    t.throws(() => renderDotEnv({ tenant: 'acme', vars: { [name]: 'v' } }), DotEnvError, `name ${JSON.stringify(name.slice(0, 10))} refused`);
  }
  const nul = t.throws(() => renderDotEnv({ tenant: 'acme', vars: { A: 'sekrit\0x' } })) as unknown as Error;
  t.type(nul, DotEnvError);
  t.match(nul.message, /A: value contains a NUL byte/);
  t.notMatch(nul.message, /sekrit/, 'value not in the message');
  t.throws(() => renderDotEnv({ tenant: 'acme', vars: { A: 'x\ud800y' } }), { code: 'HOLON_E_SECRETS_DOTENV', message: /lone surrogate/ });
  t.throws(() => renderDotEnv({ tenant: 'acme', vars: { A: 5 as unknown as string } }), { message: /must be a string/ });
  const proto = renderDotEnv({ tenant: 'acme', vars: Object.fromEntries([['__proto__', 'p']]) });
  t.equal(proto, "__proto__='p'\n", '__proto__ is a valid name and an ordinary variable');
  const back = parseDotEnv(proto);
  t.ok(Object.prototype.hasOwnProperty.call(back, '__proto__'), 'parsed back as an own property');
  t.equal(Object.getPrototypeOf(back), Object.prototype, 'without touching the prototype');
});

void t.test('parse: the strict grammar accepts the documented forms', async (t) => {
  t.same(parseDotEnv(''), {});
  t.same(parseDotEnv('# comment\n\nA=plain_value-1.2:3@x/y+z%,=\nB=\nC=\'lit $x \\n\'\nD="esc \\" \\\\ \\$ \\` \\n\\r\\t \\u00e9"'), {
    A: 'plain_value-1.2:3@x/y+z%,=',
    B: '',
    C: 'lit $x \\n',
    D: 'esc " \\ $ ` \n\r\t é',
  });
  t.same(parseDotEnv('A=1'), { A: '1' }, 'missing final LF is fine');
});

void t.test('parse: refusals name the line, never the value', async (t) => {
  const S = 'sekritvalue';
  const cases: Array<[string, number, RegExp]> = [
    [`A=${S}\r\n`, 1, /carriage return/],
    [`export A=${S}`, 1, /'export' prefix/],
    [`A = ${S}`, 1, /whitespace/],
    [` A=${S}`, 1, /whitespace/],
    [`A=${S} # comment`, 1, /must be quoted/],
    [`A='${S}`, 1, /unterminated single-quoted/],
    [`A='${S}'x`, 1, /after the closing quote/],
    [`A="${S}`, 1, /unterminated double-quoted/],
    [`A="${S}"x`, 1, /after the closing quote/],
    [`A="${S}$HOME"`, 1, /unescaped '\$'/],
    [`A="${S}\`id\`"`, 1, /unescaped '`'/],
    [`A="${S}\\q"`, 1, /unknown escape/],
    [`A="${S}\\u00"`, 1, /4 hex digits/],
    [`A="${S}\\u0000"`, 1, /NUL/],
    [`A="${S}\\ud800"`, 1, /surrogate/],
    [`A=${S} more`, 1, /must be quoted/],
    [`1A=${S}`, 1, /invalid variable name/],
    [`OK=1\n${S}`, 2, /expected NAME=VALUE/],
    [`A=1\nB=2\nA=${S}`, 3, /duplicate variable A/],
    [`\ufeffA=${S}`, 1, /byte order mark/],
    [`A='${S}\u0001'`, 1, /control character U\+0001/],
    [`A='${S}\u2028'`, 1, /control character U\+2028/],
    [`A='${S}\0'`, 1, /NUL/],
  ];
  for (const [text, line, reason] of cases) {
    try {
      parseDotEnv(text);
      t.fail(`accepted: ${show(text)}`);
    } catch (e) {
      t.type(e, DotEnvError, `${show(text)} refused`);
      const err = e as DotEnvError;
      t.equal(err.line, line, `line ${line}`);
      t.match(err.reason, reason);
      t.notMatch(JSON.stringify(err.toJSON()), S, 'the value is not in the error');
    }
  }
});

const NAME = fc.stringMatching(SECRET_NAME_PATTERN);
const VALUE = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: fc.constantFrom('\n', '\r', "'", '"', '$', '`', '\\', '=', '#', ' ', '\t', '\u2028', '\u0085', 'a', 'u'), maxLength: 30 }),
).map((s) => s.replace(/\0/g, ''));

void t.test('property: parse(render(x)) equals x', async (t) => {
  let runs = 0;
  fc.assert(
    fc.property(fc.dictionary(NAME, VALUE, { maxKeys: 12 }), (dict) => {
      runs++;
      const x = Object.fromEntries(Object.entries(dict));
      const text = renderDotEnv({ tenant: 'p', vars: x });
      const back = parseDotEnv(text);
      const a = Object.entries(back).sort(([p], [q]) => (p < q ? -1 : 1));
      const b = Object.entries(x).sort(([p], [q]) => (p < q ? -1 : 1));
      return text.split('\n').length === b.length + 1 && JSON.stringify(a) === JSON.stringify(b);
    }),
    { numRuns: 3000 },
  );
  t.equal(runs, 3000, 'round-tripped 3000 random variable sets');
});

void t.test('property: any text either parses or is refused with a DotEnvError', async (t) => {
  let refused = 0;
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('A', '=', "'", '"', '\\', '$', '\n', '\r', ' ', '#', 'u', '0', '\u0001'), maxLength: 40 }), (s) => {
      try {
        parseDotEnv(s);
      } catch (e) {
        if (!(e instanceof DotEnvError)) throw e;
        refused++;
      }
    }),
    { numRuns: 3000 },
  );
  t.ok(refused > 0, `${refused} of 3000 random texts refused, none crashed`);
});
