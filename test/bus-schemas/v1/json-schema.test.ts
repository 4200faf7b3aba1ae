/**
 * The published JSON Schemas: the committed files in schemas/v1 are exactly
 * what the code generates now, each is a well-formed draft 2020-12 document of
 * closed objects, and the schemas agree with our parsers — every sample
 * validates, and every structural mutation the fuzz corpus makes is rejected
 * by the schema too (a client in another language refuses what we refuse).
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertId, decodeId, ID_PREFIXES, type IdKind } from '../../../bus-schemas/ids.js';
import { V1_OBJECTS } from '../../../bus-schemas/v1/registry.js';
import { exportSchemas, renderSchemas, SCHEMA_DIR, sortKeys } from '../../../tools/export-schemas.js';
import { applyMutations, generateMutations, pathOf } from './mutations.js';
import { SAMPLES } from './samples.js';

type S = Record<string, unknown>;

const KEYWORDS = new Set([
  '$schema', '$id', '$ref', '$defs', 'title', 'description',
  'type', 'const', 'enum', 'anyOf', 'oneOf',
  'properties', 'required', 'additionalProperties',
  'items', 'minItems', 'maxItems',
  'minLength', 'maxLength', 'pattern', 'format', 'contentEncoding',
  'minimum', 'maximum',
]);
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean', 'null']);

/** Problems with the shape of one schema node and everything under it. */
function checkShape(node: S, path: string, problems: string[]): void {
  const bad = (why: string): void => {
    problems.push(`${path}: ${why}`);
  };
  for (const k of Object.keys(node)) if (!KEYWORDS.has(k)) bad(`unexpected keyword ${k}`);
  if ('type' in node && !TYPES.has(node.type as string)) bad(`unknown type ${String(node.type)}`);
  if (node.type === 'object') {
    const props = node.properties as S | undefined;
    if (typeof props !== 'object' || props === null) bad('object without properties');
    if (!Array.isArray(node.required)) bad('object without required');
    if (node.additionalProperties !== false) bad('object is not closed (additionalProperties must be false)');
    const req = (node.required ?? []) as string[];
    if (new Set(req).size !== req.length) bad('duplicate required names');
    for (const r of req) if (!(r in (props ?? {}))) bad(`required ${r} is not a property`);
    for (const [k, v] of Object.entries(props ?? {})) checkShape(v as S, `${path}.properties.${k}`, problems);
  }
  if (node.type === 'array') {
    if (typeof node.items !== 'object') bad('array without items');
    else checkShape(node.items as S, `${path}.items`, problems);
    if (!Number.isSafeInteger(node.maxItems)) bad('array without a maxItems bound');
    if ('minItems' in node && (node.minItems as number) > (node.maxItems as number)) bad('minItems > maxItems');
  }
  if (node.type === 'string') {
    if (!Number.isSafeInteger(node.maxLength) && !('enum' in node)) bad('string without a maxLength or enum bound');
    if ('minLength' in node && (node.minLength as number) > (node.maxLength as number)) bad('minLength > maxLength');
    if ('pattern' in node) {
      try {
        new RegExp(node.pattern as string, 'u');
      } catch (e) {
        bad(`pattern is not an ECMA-262 unicode regex: ${(e as Error).message}`);
      }
    }
  }
  if (node.type === 'integer' || node.type === 'number') {
    if (typeof node.minimum !== 'number' || typeof node.maximum !== 'number') bad('number without both bounds');
    else if (node.minimum > node.maximum) bad('minimum > maximum');
  }
  if ('enum' in node) {
    const e = node.enum as unknown[];
    if (!Array.isArray(e) || e.length === 0 || new Set(e).size !== e.length) bad('enum must be a non-empty list of unique values');
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    if (key in node) {
      const branches = node[key] as S[];
      if (!Array.isArray(branches) || branches.length < 2) bad(`${key} needs at least two branches`);
      else branches.forEach((b, i) => checkShape(b, `${path}.${key}[${i}]`, problems));
    }
  }
}

const isObject = (v: unknown): v is S => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A small validator for exactly the keywords above (format and
 * contentEncoding are annotations in 2020-12). Returns the first error path.
 */
function validate(schema: S, v: unknown, path = '$'): string | undefined {
  if ('const' in schema && v !== schema.const) return path;
  if (Array.isArray(schema.enum) && !(schema.enum as unknown[]).includes(v)) return path;
  if (Array.isArray(schema.anyOf) && !(schema.anyOf as S[]).some((b) => validate(b, v, path) === undefined)) return path;
  if (Array.isArray(schema.oneOf) && (schema.oneOf as S[]).filter((b) => validate(b, v, path) === undefined).length !== 1) return path;
  switch (schema.type) {
    case undefined:
      return undefined;
    case 'null':
      return v === null ? undefined : path;
    case 'boolean':
      return typeof v === 'boolean' ? undefined : path;
    case 'integer':
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v) || (schema.type === 'integer' && !Number.isInteger(v))) return path;
      return v < (schema.minimum as number) || v > (schema.maximum as number) ? path : undefined;
    case 'string': {
      if (typeof v !== 'string') return path;
      const n = [...v].length;
      if (n > (schema.maxLength as number) || n < ((schema.minLength as number | undefined) ?? 0)) return path;
      return typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(v) ? path : undefined;
    }
    case 'array': {
      if (!Array.isArray(v)) return path;
      if (v.length > (schema.maxItems as number) || v.length < ((schema.minItems as number | undefined) ?? 0)) return path;
      for (let i = 0; i < v.length; i++) {
        const e = validate(schema.items as S, v[i], `${path}[${i}]`);
        if (e !== undefined) return e;
      }
      return undefined;
    }
    case 'object': {
      if (!isObject(v)) return path;
      const props = schema.properties as S;
      for (const k of Object.keys(v)) if (!Object.prototype.hasOwnProperty.call(props, k)) return `${path}.${k}`;
      for (const r of schema.required as string[]) if (!Object.prototype.hasOwnProperty.call(v, r)) return `${path}.${r}`;
      for (const [k, p] of Object.entries(props)) {
        if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
        const e = validate(p as S, v[k], `${path}.${k}`);
        if (e !== undefined) return e;
      }
      return undefined;
    }
    default:
      return path;
  }
}

void t.test('committed schemas/v1 files are exactly what the code generates', async (t) => {
  const files = renderSchemas();
  t.equal(files.size, V1_OBJECTS.length, 'one file per registry object');
  const present = readdirSync(SCHEMA_DIR).filter((n) => n.endsWith('.json')).sort();
  t.same(present, [...files.keys()].sort(), 'no missing or stale files');
  for (const [name, text] of files) {
    t.equal(readFileSync(join(SCHEMA_DIR, name), 'utf8'), text, `${name} is up to date (run: npm run schemas)`);
    t.ok(text.endsWith('}\n') && !text.endsWith('\n\n'), `${name} ends with one newline`);
    t.equal(JSON.stringify(sortKeys(JSON.parse(text)), null, 2) + '\n', text, `${name} has sorted keys`);
  }
  t.same(exportSchemas(SCHEMA_DIR, true), { written: [], unchanged: [...files.keys()], removed: [] }, '--check agrees');
});

void t.test('every schema is a draft 2020-12 document of closed, bounded objects', async (t) => {
  for (const w of V1_OBJECTS) {
    const s = w.jsonSchema();
    t.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema', `${w.name} declares draft 2020-12`);
    t.equal(s.$id, `urn:holonet:schema:v1:${w.name}`);
    t.equal(s.title, w.name);
    const problems: string[] = [];
    checkShape(s, '#', problems);
    t.same(problems, [], `${w.name} is well-formed`);
  }
});

const KINDS = Object.keys(ID_PREFIXES) as IdKind[];
const rekind = (id: string): string[] => KINDS.filter((k) => k !== decodeId(id).kind).map((k) => convertId(id, k));
/** Mutations only our parser can see: checksums, id kinds, base64 length, non-JSON numbers. */
const SEMANTIC_ONLY = new Set(['id-checksum', 'id-kind', 'base64-length', 'not-finite']);

void t.test('the schemas accept every sample and reject every structural mutation', async (t) => {
  for (const w of V1_OBJECTS) {
    const schema = w.jsonSchema();
    const sample = (SAMPLES[w.name] as () => unknown)();
    t.equal(validate(schema, sample), undefined, `${w.name} sample validates`);
    const escaped: string[] = [];
    let checked = 0;
    for (const m of generateMutations(sample, schema, { rekind })) {
      if (SEMANTIC_ONLY.has(m.kind)) continue;
      checked++;
      if (validate(schema, applyMutations(sample, [m])) === undefined) escaped.push(`${m.kind}@${pathOf(m.segs)}`);
    }
    t.same(escaped, [], `${w.name}: the schema rejects all ${checked} structural mutations`);
  }
});
