/**
 * Shared helpers for the TPM tests: the checked-in swtpm vectors, running
 * `tpm2_checkquote` (the reference verifier we compare against) and
 * `tpm2_makecredential --tcti none`, and building EK public areas around
 * software keys (what tpm2_makecredential -G assumes: the default TCG EK
 * template).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { KeyObject } from 'node:crypto';
import { parseTpmtPublic, type TpmPublic } from '../../bus-schemas/tpm/tpm-public.js';
import type { PcrSelection } from '../../bus-schemas/tpm/pcr-policy.js';

const run = promisify(execFile);

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const vectorDir = join(repoRoot, 'test/vectors/tpm');

export interface QuoteVector {
  description: string;
  generated_at: string;
  /** Time the certificates were valid at (generation time), for chain checks. */
  now_ms: number;
  root_ca_pem: string;
  intermediate_ca_pem: string;
  ek_certificate: string;
  ek_public: string;
  ak_public: string;
  ak_name: string;
  pcr_selection: PcrSelection;
  qualifying_data: string;
  attest: string;
  signature: string;
  pcr_values: string[];
}

export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
export const unb64 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'base64'));
export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

export function loadQuoteVector(name: string): QuoteVector {
  return JSON.parse(readFileSync(join(vectorDir, `${name}.json`), 'utf8')) as QuoteVector;
}

export interface CheckquoteInput {
  akPublic: Uint8Array;
  attest: Uint8Array;
  signature: Uint8Array;
  pcrSelection: PcrSelection;
  pcrValues: readonly Uint8Array[];
  qualifyingData: Uint8Array;
}

/** Run tpm2_checkquote on the inputs; true = accepted (exit 0). */
export async function checkquote(input: CheckquoteInput): Promise<{ accepted: boolean; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'holonet-checkquote-'));
  try {
    const files = { pub: join(dir, 'ak.pub'), msg: join(dir, 'quote.msg'), sig: join(dir, 'quote.sig'), pcrs: join(dir, 'pcrs.bin'), q: join(dir, 'nonce.bin') };
    writeFileSync(files.pub, input.akPublic);
    writeFileSync(files.msg, input.attest);
    writeFileSync(files.sig, input.signature);
    writeFileSync(files.pcrs, Buffer.concat(input.pcrValues.map((v) => Buffer.from(v))));
    writeFileSync(files.q, input.qualifyingData);
    const sel = `${input.pcrSelection.bank}:${input.pcrSelection.pcrs.join(',')}`;
    const args = ['-u', files.pub, '-m', files.msg, '-s', files.sig, '-f', files.pcrs, '-l', sel, '-q', files.q, '-g', 'sha256'];
    try {
      await run('tpm2_checkquote', args, { cwd: dir, timeout: 10_000 });
      return { accepted: true, stderr: '' };
    } catch (e) {
      const err = e as { code?: unknown; stderr?: string };
      if (err.code === 'ENOENT') throw new Error('tpm2_checkquote not found: install the Debian package tpm2-tools');
      return { accepted: false, stderr: String(err.stderr ?? '') };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** tpm2_makecredential --tcti none for a software EK key (PEM), the default EK template assumed by -G. */
export async function toolMakeCredential(ekPem: string, algorithm: 'rsa' | 'ecc', name: Uint8Array, secret: Uint8Array): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'holonet-makecred-'));
  try {
    writeFileSync(join(dir, 'ek.pem'), ekPem);
    writeFileSync(join(dir, 'secret.bin'), secret, { mode: 0o600 });
    const args = ['--tcti', 'none', '-u', join(dir, 'ek.pem'), '-G', algorithm, '-s', join(dir, 'secret.bin'), '-n', hex(name), '-o', join(dir, 'cred.out')];
    try {
      await run('tpm2_makecredential', args, { cwd: dir, timeout: 10_000 });
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ENOENT') throw new Error('tpm2_makecredential not found: install the Debian package tpm2-tools');
      throw e;
    }
    return Uint8Array.from(readFileSync(join(dir, 'cred.out')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const u16 = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
/** PolicySecret(TPM_RH_ENDORSEMENT): the authPolicy of the default (low-range) TCG EK templates. */
const EK_POLICY_A = Buffer.from('837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa', 'hex');

/** A TPMT_PUBLIC in the default TCG EK template (L-1 RSA-2048 / L-2 ECC P-256) around a software key. */
export function ekTemplateFor(key: KeyObject): TpmPublic {
  const jwk = key.export({ format: 'jwk' });
  const head = [u16(key.asymmetricKeyType === 'rsa' ? 0x0001 : 0x0023), u16(0x000b), Buffer.from('000300b2', 'hex'), u16(32), EK_POLICY_A];
  const aes128cfb = Buffer.from('000600800043', 'hex');
  if (key.asymmetricKeyType === 'rsa') {
    const n = Buffer.from(jwk.n as string, 'base64url');
    return parseTpmtPublic(Buffer.concat([...head, aes128cfb, u16(0x0010), u16(n.length * 8), Buffer.alloc(4), u16(n.length), n]));
  }
  const x = Buffer.from(jwk.x as string, 'base64url');
  const y = Buffer.from(jwk.y as string, 'base64url');
  return parseTpmtPublic(Buffer.concat([...head, aes128cfb, u16(0x0010), u16(0x0003), u16(0x0010), u16(x.length), x, u16(y.length), y]));
}

/** Run a tpm2-tools command against `tcti`; resolves with stdout. */
export async function tpm2(tcti: string, tool: string, args: readonly string[], cwd?: string): Promise<string> {
  const { stdout } = await run(tool, [...args], { env: { ...process.env, TPM2TOOLS_TCTI: tcti }, timeout: 15_000, ...(cwd === undefined ? {} : { cwd }) });
  return stdout;
}

/** Handles currently loaded in the TPM: transient objects and sessions (loaded or saved). */
export async function loadedHandles(tcti: string): Promise<string[]> {
  const out: string[] = [];
  for (const cap of ['handles-transient', 'handles-loaded-session', 'handles-saved-session']) {
    out.push(...(await tpm2(tcti, 'tpm2_getcap', [cap])).split('\n').filter((l) => l.trim().startsWith('-')));
  }
  return out;
}
