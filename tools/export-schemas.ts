/**
 * Writes the published JSON Schema (draft 2020-12) of every V1 wire object to
 * schemas/v1/<Name>.json: pretty-printed, keys sorted at every level (array
 * order kept), one trailing newline, so the files are byte-stable and diff
 * cleanly. Files in schemas/v1 that no registry object produces are removed.
 * A test compares the committed files with `renderSchemas()`, so they cannot
 * drift from the code.
 *
 *   node dist/tools/export-schemas.js            # write
 *   node dist/tools/export-schemas.js --check    # exit 1 if the files differ
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { V1_OBJECTS } from '../bus-schemas/v1/registry.js';

/** The repository root, from dist/tools/ (compiled) where this file runs. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCHEMA_DIR = join(REPO_ROOT, 'schemas', 'v1');

/** A copy of `value` with every object's keys in code-unit order; arrays keep their order. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** File name → file text for every registry object. */
export function renderSchemas(): Map<string, string> {
  const files = new Map<string, string>();
  for (const w of V1_OBJECTS) files.set(`${w.name}.json`, `${JSON.stringify(sortKeys(w.jsonSchema()), null, 2)}\n`);
  return files;
}

export interface ExportResult {
  written: string[];
  unchanged: string[];
  removed: string[];
}

const readOrUndefined = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** Bring `dir` in line with the registry (or with `check`, only report what differs). */
export function exportSchemas(dir = SCHEMA_DIR, check = false): ExportResult {
  const files = renderSchemas();
  const result: ExportResult = { written: [], unchanged: [], removed: [] };
  if (!check) mkdirSync(dir, { recursive: true });
  for (const [name, text] of files) {
    const path = join(dir, name);
    if (readOrUndefined(path) === text) {
      result.unchanged.push(name);
      continue;
    }
    if (!check) writeFileSync(path, text);
    result.written.push(name);
  }
  let present: string[] = [];
  try {
    present = readdirSync(dir);
  } catch {
    present = [];
  }
  for (const name of present) {
    if (!name.endsWith('.json') || files.has(name)) continue;
    if (!check) rmSync(join(dir, name));
    result.removed.push(name);
  }
  return result;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  const check = process.argv.includes('--check');
  const r = exportSchemas(SCHEMA_DIR, check);
  const verb = check ? 'differ' : 'written';
  console.log(`schemas/v1: ${r.written.length} ${verb}, ${r.unchanged.length} unchanged, ${r.removed.length} ${check ? 'stale' : 'removed'}`);
  for (const n of r.written) console.log(`  ${verb}: ${n}`);
  for (const n of r.removed) console.log(`  ${check ? 'stale' : 'removed'}: ${n}`);
  if (check && (r.written.length > 0 || r.removed.length > 0)) process.exitCode = 1;
}
