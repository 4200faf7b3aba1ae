/**
 * TPM costs, each next to the plain way measured in the same run:
 * - quote verification in pure TypeScript (checked-in swtpm quotes, ECDSA
 *   P-256 and RSASSA-2048 AKs) vs spawning `tpm2_checkquote` on the same quote;
 * - MakeCredential in TypeScript (RSA-2048 EK);
 * - one bootstrap's bare tpm2-tools command sequence on a real swtpm
 *   (createek, createak, makecredential, activatecredential, quote, flush),
 *   p50/p99, and the same bootstrap through TpmAttestor + the TS verifier,
 *   which the bootstrap benchmark compares against.
 */
import { execFile } from 'node:child_process';
import { randomBytes, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { TpmAttestor } from '../adapters/tpm/index.js';
import { makeCredential } from '../bus-schemas/tpm/make-credential.js';
import { TPM_ALG } from '../bus-schemas/tpm/tpm-algorithms.js';
import { parseQuoteAttest } from '../bus-schemas/tpm/tpm-attest.js';
import { parseTpm2bPublic, publicKeyOf } from '../bus-schemas/tpm/tpm-public.js';
import { parseTpmtSignature } from '../bus-schemas/tpm/tpm-signature.js';
import { verifyQuote, type QuoteEvidence, type QuoteExpectations } from '../bus-schemas/tpm/verify-quote.js';
import { startSwtpm } from '../test/harness/swtpm.js';
import { checkquote, loadQuoteVector, unb64 } from '../test/tpm/tpm-fixtures.js';
import { percentile, round, type BenchResult } from './measure.js';

const run = promisify(execFile);
const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

function quoteInputs(name: string): { evidence: QuoteEvidence; expected: QuoteExpectations } {
  const v = loadQuoteVector(name);
  return {
    evidence: { attest: unb64(v.attest), signature: unb64(v.signature), akPublic: unb64(v.ak_public), pcrSelection: v.pcr_selection, pcrValues: v.pcr_values.map(fromHex) },
    expected: { qualifyingData: fromHex(v.qualifying_data), pcrSelection: v.pcr_selection, ekPublic: parseTpm2bPublic(unb64(v.ek_public)) },
  };
}

async function checkquoteOpsPerSecond(evidence: QuoteEvidence, expected: QuoteExpectations, runs: number): Promise<number> {
  const input = { ...evidence, akPublic: evidence.akPublic as Uint8Array, qualifyingData: expected.qualifyingData };
  const start = performance.now();
  for (let i = 0; i < runs; i++) {
    if (!(await checkquote(input)).accepted) throw new Error('tpm2_checkquote refused the benchmark quote');
  }
  return (runs * 1000) / (performance.now() - start);
}

/**
 * Operations per second of CPU time (user + system) of this process: the
 * per-core rate, which stays meaningful when the machine is shared and the
 * wall clock is not ours alone. Wall-clock ops/s are reported next to it.
 */
function opsPerCpuSecond(fn: () => void, ms: number): { cpu: number; wall: number } {
  const warmupUntil = performance.now() + 100;
  while (performance.now() < warmupUntil) fn();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let ops = 0;
  while (performance.now() - start < ms) {
    fn();
    ops++;
  }
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu0);
  return { cpu: ops / ((used.user + used.system) / 1e6), wall: (ops * 1000) / wallMs };
}

async function verificationResults(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const [label, vector] of [['ecdsa_p256', 'swtpm-quote-ecc-ak'], ['rsassa_2048', 'swtpm-quote-rsa-ak']] as const) {
    const { evidence, expected } = quoteInputs(vector);
    // cold: everything from bytes, as for a machine seen for the first time
    const cold = opsPerCpuSecond(() => void verifyQuote(evidence, expected), 1500);
    // warm: the orchestrator keeps an enrolled machine's parsed AK and its KeyObject
    const ak = parseTpm2bPublic(evidence.akPublic as Uint8Array);
    const akKey = publicKeyOf(ak);
    const warm = opsPerCpuSecond(() => void verifyQuote({ ...evidence, akPublic: ak }, { ...expected, akKey }), 1500);
    const raw = rawSignatureVerify(evidence);
    const tool = await checkquoteOpsPerSecond(evidence, expected, 20);
    out.push({
      name: `verify_quote_${label}`,
      value: round(cold.cpu, 0),
      unit: 'ops per CPU-second',
      baseline: { name: 'spawn tpm2_checkquote on the same quote (wall clock)', value: round(tool, 1), unit: 'ops/s' },
      goal: '≥ 5000 verifications/s per core',
      goal_met: cold.cpu >= 5000,
      meta: {
        checks: 'AK parse + attributes, attest parse, signature, extraData, selection, PCR digest, qualifiedSigner under the EK',
        cold_wall_ops_s: round(cold.wall, 0),
        warm_cached_ak_key_ops_per_cpu_s: round(warm.cpu, 0),
        warm_goal_met: warm.cpu >= 5000,
        raw_node_crypto_signature_verify_ops_per_cpu_s: round(raw, 0),
        speedup_vs_tpm2_checkquote_wall: round(cold.wall / tool, 0),
        tpm2_checkquote_runs: 20,
        load_average_1m: round(loadavg()[0] ?? 0, 2),
      },
    });
  }
  const { expected } = quoteInputs('swtpm-quote-ecc-ak');
  const akName = fromHex(loadQuoteVector('swtpm-quote-ecc-ak').ak_name);
  const secret = randomBytes(32);
  const ek = expected.ekPublic;
  if (ek === undefined) throw new Error('vector has no EK');
  const mc = opsPerCpuSecond(() => void makeCredential(ek, akName, secret), 500);
  out.push({ name: 'make_credential_rsa2048_ek', value: round(mc.cpu, 0), unit: 'ops per CPU-second', meta: { wall_ops_s: round(mc.wall, 0) } });
  return out;
}

/** The bare node:crypto signature check the verifier wraps, on the same quote. */
function rawSignatureVerify(evidence: QuoteEvidence): number {
  const ak = parseTpm2bPublic(evidence.akPublic as Uint8Array);
  const key = publicKeyOf(ak);
  const sig = parseTpmtSignature(evidence.signature);
  const message = parseQuoteAttest(evidence.attest).signed;
  if (sig.sigAlg === TPM_ALG.ECDSA) {
    const p1363 = Buffer.concat([sig.r, sig.s]);
    return opsPerCpuSecond(() => void verify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, p1363), 1000).cpu;
  }
  return opsPerCpuSecond(() => void verify('sha256', message, key, sig.sig), 1000).cpu;
}

/** One bootstrap's bare tpm2-tools sequence; returns per-step milliseconds. */
export async function bareSequence(tcti: string): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'holonet-bench-tpm-'));
  const env = { ...process.env, TPM2TOOLS_TCTI: tcti };
  const steps: Record<string, number> = {};
  const step = async (label: string, tool: string, args: string[]): Promise<void> => {
    const t0 = performance.now();
    await run(tool, args, { cwd: dir, env, timeout: 30_000 });
    steps[label] = (steps[label] ?? 0) + performance.now() - t0;
  };
  try {
    writeFileSync(join(dir, 'secret.bin'), randomBytes(32), { mode: 0o600 });
    await step('createek', 'tpm2_createek', ['-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub']);
    await step('createak', 'tpm2_createak', ['-C', 'ek.ctx', '-c', 'ak.ctx', '-G', 'ecc', '-g', 'sha256', '-s', 'ecdsa', '-u', 'ak.pub', '-n', 'ak.name', '-r', 'ak.priv']);
    await step('flush', 'tpm2_flushcontext', ['-t']);
    const name = readFileSync(join(dir, 'ak.name')).toString('hex');
    await step('makecredential', 'tpm2_makecredential', ['--tcti', 'none', '-u', 'ek.pub', '-s', 'secret.bin', '-n', name, '-o', 'cred.out']);
    await step('activatecredential', 'tpm2_startauthsession', ['--policy-session', '-S', 'session.ctx']);
    await step('activatecredential', 'tpm2_policysecret', ['-S', 'session.ctx', '-c', 'e']);
    await step('activatecredential', 'tpm2_activatecredential', ['-c', 'ak.ctx', '-C', 'ek.ctx', '-i', 'cred.out', '-o', 'act.out', '-P', 'session:session.ctx']);
    await step('flush', 'tpm2_flushcontext', ['session.ctx']);
    await step('flush', 'tpm2_flushcontext', ['-t']);
    await step('quote', 'tpm2_quote', ['-c', 'ak.ctx', '-l', 'sha256:0,1,2,3,7', '-q', 'secret.bin', '-m', 'q.msg', '-s', 'q.sig', '-o', 'q.pcrs', '-F', 'values']);
    await step('flush', 'tpm2_flushcontext', ['-t']);
    return steps;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function bootstrapResults(): Promise<BenchResult[]> {
  const tpm = await startSwtpm();
  const root = mkdtempSync(join(tmpdir(), 'holonet-bench-attestor-'));
  try {
    const runs = 8;
    const bare: number[] = [];
    const perStep: Record<string, number[]> = {};
    const adapter: number[] = [];
    await bareSequence(tpm.tcti); // warm-up: libtpms caches the EK primes
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const steps = await bareSequence(tpm.tcti);
      bare.push(performance.now() - t0);
      for (const [k, ms] of Object.entries(steps)) (perStep[k] ??= []).push(ms);
    }
    const selection = { bank: 'sha256' as const, pcrs: [0, 1, 2, 3, 7] };
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const attestor = new TpmAttestor({ stateDir: join(root, `s${i}`), tcti: tpm.tcti });
      const id = await attestor.provision();
      const ek = parseTpm2bPublic(id.ekPublic);
      const secret = randomBytes(32);
      const cred = makeCredential(ek, id.akName, secret);
      const got = await attestor.activateCredential(cred.idObject, cred.encryptedSecret);
      const q = await attestor.quote(selection, got);
      verifyQuote({ ...q, akPublic: id.akPublic }, { qualifyingData: secret, pcrSelection: selection, ekPublic: ek });
      adapter.push(performance.now() - t0);
    }
    const sortedBare = [...bare].sort((a, b) => a - b);
    const sortedAdapter = [...adapter].sort((a, b) => a - b);
    const stepMedians = Object.fromEntries(Object.entries(perStep).map(([k, v]) => [k, round(percentile([...v].sort((a, b) => a - b), 50), 1)]));
    return [
      {
        name: 'tpm2_tools_bootstrap_sequence',
        value: round(percentile(sortedBare, 50), 1),
        unit: 'ms (p50)',
        meta: { p99_ms: round(percentile(sortedBare, 99), 1), runs, step_p50_ms: stepMedians, tpm: 'swtpm 0.7.1 over the swtpm TCTI' },
      },
      {
        name: 'attestor_bootstrap',
        value: round(percentile(sortedAdapter, 50), 1),
        unit: 'ms (p50)',
        baseline: { name: 'bare tpm2-tools sequence (p50)', value: round(percentile(sortedBare, 50), 1), unit: 'ms' },
        meta: {
          p99_ms: round(percentile(sortedAdapter, 99), 1),
          runs,
          includes: 'NV EK certificate read, EK re-created per operation, TS MakeCredential and TS quote verification',
        },
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
    await tpm.stop();
  }
}

export default async function bench(): Promise<BenchResult[]> {
  return [...(await verificationResults()), ...(await bootstrapResults())];
}
