/**
 * `npm test`'s last step: runs tap over the compiled tests, passes its TAP
 * output through, and ends with one plain line "N passed, N failed, N skipped"
 * that any CI can read. Exits with tap's status.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// dist/tools/run-tests.js → <root>/node_modules/tap/dist/esm/run.mjs (tap's bin)
const tapBin = fileURLToPath(new URL('../../node_modules/tap/dist/esm/run.mjs', import.meta.url));

const child = spawn(process.execPath, [tapBin, ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'] });
let tail = '';
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString('utf8')).slice(-4096);
});
child.on('close', (code, signal) => {
  // tap ends with a line like: # { total: 4033, pass: 4030, fail: 1, skip: 2 }
  const m = /# \{ total: (\d+)([^}]*)\}/.exec(tail);
  const count = (name: string): number => Number(new RegExp(`${name}: (\\d+)`).exec(m?.[2] ?? '')?.[1] ?? 0);
  if (m) {
    const failed = count('fail');
    const skipped = count('skip') + count('todo');
    process.stdout.write(`\n${count('pass')} passed, ${failed} failed, ${skipped} skipped\n`);
  } else {
    process.stdout.write('\n0 passed, 1 failed\n');
    process.stderr.write('run-tests: tap ended without a summary line\n');
  }
  process.exitCode = code ?? (signal ? 1 : 0);
});
