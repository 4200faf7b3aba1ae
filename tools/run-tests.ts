/**
 * `npm test`'s last step: runs tap over the compiled tests, passes its TAP
 * output through, and ends with one plain line "N passed, N failed, N skipped"
 * that any CI can read. Exits non-zero if any tap run failed.
 *
 * Without arguments it runs in two phases: first the fast core tests (the
 * lifecycle logic with in-memory ports: provisioning, the unit steps,
 * placement, the machine registry — seconds, so a broken core shows at once),
 * then every other test file. With arguments it is plain `tap <args>`.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/tools/run-tests.js → <root>/node_modules/tap/dist/esm/run.mjs (tap's bin)
const root = fileURLToPath(new URL('../../', import.meta.url));
const tapBin = join(root, 'node_modules/tap/dist/esm/run.mjs');

/** The fast core: pure logic over in-memory ports, no processes, no servers. */
export const FAST_CORE = [
  'dist/test/orchestrator/provisioning-core.test.js',
  'dist/test/orchestrator/placement.test.js',
  'dist/test/orchestrator/machine-registry.test.js',
  'dist/test/agent/unit-steps.test.js',
];

interface Counts {
  pass: number;
  fail: number;
  skip: number;
  found: boolean;
  code: number;
}

function runTap(args: string[]): Promise<Counts> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tapBin, ...args], { stdio: ['ignore', 'pipe', 'inherit'], cwd: root });
    let tail = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-4096);
    });
    child.on('close', (code, signal) => {
      // tap ends with a line like: # { total: 4033, pass: 4030, fail: 1, skip: 2 }
      const m = /# \{ total: (\d+)([^}]*)\}/.exec(tail);
      const count = (name: string): number => Number(new RegExp(`${name}: (\\d+)`).exec(m?.[2] ?? '')?.[1] ?? 0);
      resolve({ pass: count('pass'), fail: count('fail'), skip: count('skip') + count('todo'), found: m !== null, code: code ?? (signal ? 1 : 0) });
    });
  });
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.js'))
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const phases: string[][] = [];
  if (args.length > 0) phases.push(args);
  else {
    const all = testFiles(join(root, 'dist/test'));
    const fast = FAST_CORE.filter((f) => all.includes(f));
    phases.push(fast, all.filter((f) => !fast.includes(f)));
  }
  const total = { pass: 0, fail: 0, skip: 0 };
  let code = 0;
  for (const [i, files] of phases.entries()) {
    if (files.length === 0) continue;
    const started = Date.now();
    const r = await runTap(files);
    if (phases.length > 1 && i === 0) process.stdout.write(`\n# fast core tests: ${r.pass} passed, ${r.fail} failed in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    if (!r.found) {
      process.stderr.write('run-tests: tap ended without a summary line\n');
      total.fail += 1;
    }
    total.pass += r.pass;
    total.fail += r.fail;
    total.skip += r.skip;
    if (r.code !== 0) code = r.code;
  }
  process.stdout.write(`\n${total.pass} passed, ${total.fail} failed, ${total.skip} skipped\n`);
  return code !== 0 || total.fail > 0 ? code || 1 : 0;
}

process.exitCode = await main();
