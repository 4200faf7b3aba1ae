/**
 * `npm run bench [-- NAME…]`: runs every bench/*.bench.ts (or the named ones)
 * and prints one JSON document on stdout. Progress goes to stderr.
 */
import { readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Benchmark, BenchResult } from './measure.js';

const here = dirname(fileURLToPath(import.meta.url));

async function main(): Promise<number> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const available = readdirSync(here)
    .filter((f) => f.endsWith('.bench.js'))
    .map((f) => basename(f, '.bench.js'))
    .sort();
  const unknown = wanted.filter((w) => !available.includes(w));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown benchmark(s): ${unknown.join(', ')}; available: ${available.join(', ')}\n`);
    return 2;
  }
  const selected = wanted.length > 0 ? wanted : available;
  const benchmarks: Record<string, BenchResult[] | { error: string }> = {};
  let failed = false;
  for (const name of selected) {
    process.stderr.write(`bench: ${name} …\n`);
    const started = Date.now();
    try {
      const mod = (await import(pathToFileURL(join(here, `${name}.bench.js`)).href)) as { default: Benchmark };
      benchmarks[name] = await mod.default();
    } catch (e) {
      failed = true;
      benchmarks[name] = { error: e instanceof Error ? e.message : String(e) };
    }
    process.stderr.write(`bench: ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
  const doc = {
    holonet_bench: 1,
    at: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    benchmarks,
  };
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
