/**
 * The error-code catalogue is complete and current: every `HOLON_E_*` code in
 * a string literal of the product code has an entry in
 * bus-schemas/error-catalogue.ts, every entry's code is still raised
 * somewhere, and docs/errors.md is exactly what tools/export-errors.ts
 * renders from the catalogue. Comments and regular expressions do not count:
 * the scanner reads string and template literals through the TypeScript
 * parser, so `/^HOLON_E_[A-Z0-9_]+$/` or a `HOLON_E_BOOT_…` in a comment is
 * not a code.
 */
import t from 'tap';
import ts from 'typescript';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeErrorCode, ERROR_CATALOGUE, type ErrorCatalogueEntry } from '../../bus-schemas/error-catalogue.js';
import { ERRORS_DOC, renderErrorsDoc } from '../../tools/export-errors.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const PRODUCT = ['bus-schemas', 'adapters', 'agent', 'orchestrator', 'cli'];
const CODE = /HOLON_E_[A-Z0-9_]+/g;

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const LITERAL_KINDS = new Set([
  ts.SyntaxKind.StringLiteral,
  ts.SyntaxKind.NoSubstitutionTemplateLiteral,
  ts.SyntaxKind.TemplateHead,
  ts.SyntaxKind.TemplateMiddle,
  ts.SyntaxKind.TemplateTail,
]);

/** Every HOLON_E_* code in a string or template literal of `source` (comments and regex literals ignored). */
export function codesInSource(source: string, fileName = 'source.ts'): Set<string> {
  const codes = new Set<string>();
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const visit = (node: ts.Node): void => {
    if (LITERAL_KINDS.has(node.kind)) for (const m of (node as ts.LiteralLikeNode).text.matchAll(CODE)) codes.add(m[0]);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return codes;
}

/** code → the repo-relative files that raise it. */
function scanProduct(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const top of PRODUCT) {
    for (const file of walk(join(root, top))) {
      const rel = relative(root, file);
      // The catalogue names every code; it must not count as raising them.
      if (rel === join('bus-schemas', 'error-catalogue.ts')) continue;
      for (const code of codesInSource(readFileSync(file, 'utf8'), rel)) found.set(code, [...(found.get(code) ?? []), rel]);
    }
  }
  return found;
}

/** What is wrong between the codes the code raises and the catalogue; empty when they agree. */
export function catalogueGaps(found: ReadonlyMap<string, readonly string[]>, catalogue: readonly ErrorCatalogueEntry[]): string[] {
  const documented = new Set(catalogue.map((e) => e.code));
  const problems: string[] = [];
  for (const [code, files] of [...found].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!documented.has(code)) problems.push(`${code} (raised in ${files.join(', ')}) has no entry in bus-schemas/error-catalogue.ts`);
  }
  for (const e of catalogue) {
    if (!found.has(e.code)) problems.push(`${e.code} is in bus-schemas/error-catalogue.ts but no product code raises it any more`);
  }
  return problems;
}

void t.test('every code raised in product code is catalogued, and every catalogued code is raised', (t) => {
  const found = scanProduct();
  t.ok(found.size >= 50, `the scanner sees the product's codes (${found.size})`);
  t.ok(found.has('HOLON_E_MALFORMED') && found.has('HOLON_E_CAP_AMPLIFICATION'), 'static CODE declarations are seen');
  t.ok(found.has('HOLON_E_BOOT_ADMISSION') && found.has('HOLON_E_QUOTA_EXCEEDED'), 'code tables are seen');
  t.ok(found.has('HOLON_E_JOB_HASH_MISMATCH'), 'literal codes passed as arguments are seen');
  t.strictSame(catalogueGaps(found, ERROR_CATALOGUE), []);
  t.end();
});

void t.test('the catalogue is well-formed', (t) => {
  const codes = ERROR_CATALOGUE.map((e) => e.code);
  t.equal(new Set(codes).size, codes.length, 'no code twice');
  for (const e of ERROR_CATALOGUE) {
    t.match(e.code, /^HOLON_E_[A-Z0-9_]+$/, `${e.code}: code shape`);
    t.ok(e.code.length <= 64, `${e.code}: fits RefusalV1.code (64 characters)`);
    t.ok(e.meaning.trim().length >= 20 && /[.)]$/.test(e.meaning), `${e.code}: meaning is a sentence`);
    t.ok(e.operatorAction.trim().length >= 10 && /[.)]$/.test(e.operatorAction), `${e.code}: operatorAction is a sentence`);
    t.ok(e.raisedBy.trim().length > 0, `${e.code}: raisedBy is set`);
    t.equal(describeErrorCode(e.code), e, `${e.code}: describeErrorCode finds it`);
  }
  t.ok(Object.isFrozen(ERROR_CATALOGUE) && ERROR_CATALOGUE.every((e) => Object.isFrozen(e)), 'the table and its entries are frozen');
  t.equal(describeErrorCode('HOLON_E_NOT_DOCUMENTED_EVER'), undefined);
  t.end();
});

void t.test('docs/errors.md is exactly what `npm run errors` writes', (t) => {
  const want = renderErrorsDoc();
  const have = existsSync(ERRORS_DOC) ? readFileSync(ERRORS_DOC, 'utf8') : '(missing)';
  t.equal(have, want, 'docs/errors.md differs from the catalogue: run `npm run errors`');
  for (const e of ERROR_CATALOGUE) t.ok(want.includes(`| \`${e.code}\` |`), `${e.code} has a row`);
  const rows = want.split('\n').filter((l) => l.startsWith('| `HOLON_E_'));
  t.equal(rows.length, ERROR_CATALOGUE.length, 'one row per code, nothing else');
  const order = rows.map((l) => l.slice(3, l.indexOf('`', 3)));
  t.strictSame(order, [...order].sort(), 'rows sorted by code');
  t.end();
});

void t.test('planted: the check fails on a code that is not documented, and only on real literals', (t) => {
  const planted = [
    "import { HolonError } from './errors.js';",
    'export class PlantedError extends HolonError {',
    "  static readonly CODE = 'HOLON_E_NOT_DOCUMENTED_EVER';",
    '}',
    '// HOLON_E_ONLY_IN_A_COMMENT is not raised',
    '/* nor HOLON_E_IN_A_BLOCK_COMMENT */',
    'const pattern = /^HOLON_E_IN_A_REGEX$/;',
    'const t1 = `prefix ${String(pattern)} HOLON_E_IN_A_TEMPLATE_TAIL`;',
    "const fallback = { code: \"HOLON_E_MALFORMED\" };",
  ].join('\n');
  const codes = codesInSource(planted);
  t.ok(codes.has('HOLON_E_NOT_DOCUMENTED_EVER'), 'the planted literal is found');
  t.ok(codes.has('HOLON_E_IN_A_TEMPLATE_TAIL'), 'template literal parts are scanned');
  t.ok(codes.has('HOLON_E_MALFORMED'), 'double-quoted literals are scanned');
  t.notOk(codes.has('HOLON_E_ONLY_IN_A_COMMENT') || codes.has('HOLON_E_IN_A_BLOCK_COMMENT'), 'comments are not codes');
  t.notOk(codes.has('HOLON_E_IN_A_REGEX'), 'regular expressions are not codes');

  const found = new Map([...codes].map((c) => [c, ['planted.ts']]));
  const gaps = catalogueGaps(found, ERROR_CATALOGUE);
  t.ok(
    gaps.some((g) => g.startsWith('HOLON_E_NOT_DOCUMENTED_EVER (raised in planted.ts) has no entry')),
    'the undocumented code is reported, naming its file',
  );
  t.notOk(gaps.some((g) => g.startsWith('HOLON_E_MALFORMED (')), 'a documented code is not reported');

  const stale = catalogueGaps(new Map([['HOLON_E_MALFORMED', ['x.ts']]]), [
    ...ERROR_CATALOGUE.filter((e) => e.code === 'HOLON_E_MALFORMED'),
    { code: 'HOLON_E_GONE_LONG_AGO', meaning: 'x.', operatorAction: 'x.', raisedBy: 'x' },
  ]);
  t.strictSame(stale, ['HOLON_E_GONE_LONG_AGO is in bus-schemas/error-catalogue.ts but no product code raises it any more']);
  t.end();
});
