/**
 * The agent's TPM attestor (DESIGN §3 steps 1 and 3) over tpm2-tools:
 * reads the EK certificate from NV, creates the EK and an AK under it,
 * activates the orchestrator's credential and quotes PCRs over the
 * orchestrator's qualifying data. The AK (public, private blob, name and
 * saved context) lives in a caller-given 0700 state dir and survives agent
 * restarts and TPM resets; every operation flushes what it loaded.
 */
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { attestBody, parseQuoteAttest } from '../../bus-schemas/tpm/tpm-attest.js';
import { encodeCredentialFile } from '../../bus-schemas/tpm/make-credential.js';
import { trimDer } from '../../bus-schemas/tpm/ek-certificate.js';
import { checkPcrSelection, type PcrSelection } from '../../bus-schemas/tpm/pcr-policy.js';
import { objectName, parseTpm2bPublic } from '../../bus-schemas/tpm/tpm-public.js';
import { TpmError } from './tpm-error.js';
import { AK_FILES, TpmWorkspace } from './tpm-workspace.js';
import type { Tpm2ToolsConfig } from './tpm2-tools.js';

export interface TpmAttestorOptions {
  /** Where the AK is kept; created 0700 if absent, and must not be group/world accessible. */
  stateDir: string;
  /** TCTI, e.g. `device:/dev/tpmrm0` (recommended) or `swtpm:host=127.0.0.1,port=2321`; unset = tpm2-tools' default. */
  tcti?: string;
  /** `ecc` (default): ECC P-256 ECDSA/SHA-256; `rsa`: RSA-2048 RSASSA/SHA-256. */
  akAlgorithm?: 'ecc' | 'rsa';
  /** EK algorithm (default `rsa`, the EK nearly every TPM ships a certificate for). */
  ekAlgorithm?: 'rsa' | 'ecc';
  /** Directory of the tpm2_* binaries; unset = $PATH. */
  binDir?: string;
  /** Per-command timeout (default 30 s). */
  toolTimeoutMs?: number;
}

/** What the agent sends in `hello`. */
export interface TpmIdentity {
  /** TPM2B_PUBLIC of the EK. */
  ekPublic: Uint8Array;
  /** DER EK certificate from NV, trimmed of padding; absent when the TPM has none for this EK algorithm. */
  ekCertificate: Uint8Array | undefined;
  /** TPM2B_PUBLIC of the AK. */
  akPublic: Uint8Array;
  /** nameAlg ‖ H(TPMT_PUBLIC) of the AK. */
  akName: Uint8Array;
}

export interface TpmQuote {
  /** TPMS_ATTEST as the TPM signed it. */
  attest: Uint8Array;
  /** TPMT_SIGNATURE. */
  signature: Uint8Array;
  pcrSelection: PcrSelection;
  /** One value per selected PCR, in selection order. */
  pcrValues: Uint8Array[];
}

/** TCG EK Credential Profile NV indices of the low-range EK certificates. */
export const EK_CERT_NV_INDEX = { rsa: 0x01c00002, ecc: 0x01c0000a } as const;

const AK_ARGS = { ecc: ['-G', 'ecc', '-g', 'sha256', '-s', 'ecdsa'], rsa: ['-G', 'rsa', '-g', 'sha256', '-s', 'rsassa'] } as const;
const META = 'ak.json';
const BANK_SIZE: Record<string, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

export class TpmAttestor {
  readonly #stateDir: string;
  readonly #tools: Tpm2ToolsConfig;
  readonly #akAlgorithm: 'ecc' | 'rsa';
  readonly #ekAlgorithm: 'rsa' | 'ecc';
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: TpmAttestorOptions) {
    const bad = (option: string, why: string): TpmError => new TpmError('config', option, why);
    if (typeof options.stateDir !== 'string' || !options.stateDir.startsWith('/')) throw bad('stateDir', 'must be an absolute path');
    if (options.akAlgorithm !== undefined && !['ecc', 'rsa'].includes(options.akAlgorithm)) throw bad('akAlgorithm', "expected 'ecc' or 'rsa'");
    if (options.ekAlgorithm !== undefined && !['ecc', 'rsa'].includes(options.ekAlgorithm)) throw bad('ekAlgorithm', "expected 'rsa' or 'ecc'");
    if (options.tcti !== undefined && !/^[a-z0-9._-]+(?::\S*)?$/i.test(options.tcti)) throw bad('tcti', 'expected NAME[:CONFIG] without whitespace');
    const timeout = options.toolTimeoutMs ?? 30_000;
    if (!Number.isInteger(timeout) || timeout <= 0) throw bad('toolTimeoutMs', 'expected a positive integer');
    this.#stateDir = options.stateDir;
    this.#akAlgorithm = options.akAlgorithm ?? 'ecc';
    this.#ekAlgorithm = options.ekAlgorithm ?? 'rsa';
    this.#tools = { timeoutMs: timeout, ...(options.tcti === undefined ? {} : { tcti: options.tcti }), ...(options.binDir === undefined ? {} : { binDir: options.binDir }) };
  }

  /** Operations are serialized: they share the TPM's transient slots and flush them. */
  #exclusive<T>(fn: (ws: TpmWorkspace) => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      await this.#prepareStateDir();
      const ws = await TpmWorkspace.open(this.#tools, this.#stateDir, this.#ekAlgorithm);
      try {
        return await fn(ws);
      } finally {
        await ws.close();
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #prepareStateDir(): Promise<void> {
    await mkdir(this.#stateDir, { recursive: true, mode: 0o700 });
    const st = await stat(this.#stateDir);
    if (!st.isDirectory()) throw new TpmError('config', 'stateDir', `${this.#stateDir} is not a directory`);
    if ((st.mode & 0o077) !== 0) await chmod(this.#stateDir, 0o700);
  }

  /** The EK certificate from its NV index, trimmed of NV padding; undefined when the index does not exist. */
  readEkCertificate(): Promise<Uint8Array | undefined> {
    return this.#exclusive((ws) => this.#readEkCertificate(ws));
  }

  async #readEkCertificate(ws: TpmWorkspace): Promise<Uint8Array | undefined> {
    const index = EK_CERT_NV_INDEX[this.#ekAlgorithm];
    const listed = (await ws.run('tpm2_getcap', ['handles-nv-index'])).stdout.toString('utf8');
    if (!listed.split('\n').some((line) => /^-\s*0x[0-9a-f]+\s*$/i.test(line.trim()) && Number(line.trim().slice(1).trim()) === index)) {
      return undefined;
    }
    const out = ws.path('ek.crt');
    await ws.run('tpm2_nvread', [`0x${index.toString(16)}`, '-o', out]);
    try {
      return Uint8Array.from(trimDer(await readFile(out)));
    } catch (e) {
      throw new TpmError('state', 'tpm2_nvread', `NV index 0x${index.toString(16)} does not hold a DER certificate`, { cause: e });
    }
  }

  /**
   * The EK (public area and NV certificate) and the AK, creating the AK under
   * the EK on first use and reusing it afterwards; `fresh` replaces it.
   */
  provision(opts: { fresh?: boolean } = {}): Promise<TpmIdentity> {
    return this.#exclusive(async (ws) => {
      const ekCertificate = await this.#readEkCertificate(ws);
      await ws.ek();
      const ekPublic = Uint8Array.from(await readFile(ws.path('ek.pub')));
      if (opts.fresh === true || !(await this.#hasAk())) await this.#createAk(ws);
      const akPublic = Uint8Array.from(await readFile(ws.statePath(AK_FILES.pub)));
      const akName = Uint8Array.from(await readFile(ws.statePath(AK_FILES.name)));
      const computed = objectName(parseTpm2bPublic(akPublic));
      if (Buffer.compare(computed, akName) !== 0) throw new TpmError('state', 'tpm2_createak', 'the AK name on disk does not match its public area');
      return { ekPublic, ekCertificate, akPublic, akName };
    });
  }

  async #hasAk(): Promise<boolean> {
    try {
      const meta = JSON.parse(await readFile(`${this.#stateDir}/${META}`, 'utf8')) as { ak_algorithm?: unknown; ek_algorithm?: unknown };
      if (meta.ak_algorithm !== this.#akAlgorithm || meta.ek_algorithm !== this.#ekAlgorithm) {
        throw new TpmError('config', 'akAlgorithm', `the state dir holds a ${String(meta.ak_algorithm)} AK under a ${String(meta.ek_algorithm)} EK; provision with fresh to replace it`);
      }
      return true;
    } catch (e) {
      if (e instanceof TpmError) throw e;
      return false;
    }
  }

  async #createAk(ws: TpmWorkspace): Promise<void> {
    await rm(`${this.#stateDir}/${META}`, { force: true });
    const ek = await ws.ek();
    const files = { pub: ws.path(AK_FILES.pub), priv: ws.path(AK_FILES.priv), name: ws.path(AK_FILES.name), ctx: ws.path(AK_FILES.ctx) };
    await ws.run('tpm2_createak', ['-C', ek, '-c', files.ctx, ...AK_ARGS[this.#akAlgorithm], '-u', files.pub, '-n', files.name, '-r', files.priv]);
    for (const key of ['pub', 'priv', 'name', 'ctx'] as const) await rename(files[key], ws.statePath(AK_FILES[key]));
    // written last: its presence means the four AK files are complete
    const meta = JSON.stringify({ ak_algorithm: this.#akAlgorithm, ek_algorithm: this.#ekAlgorithm, created_at: new Date().toISOString() });
    await writeFile(`${this.#stateDir}/${META}.tmp`, meta, { mode: 0o600 });
    await rename(`${this.#stateDir}/${META}.tmp`, `${this.#stateDir}/${META}`);
    await ws.flush();
  }

  async #requireAk(): Promise<void> {
    if (!(await this.#hasAk())) throw new TpmError('state', 'stateDir', `no AK in ${this.#stateDir}; call provision() first`);
  }

  /**
   * TPM2_ActivateCredential: recover the secret the orchestrator wrapped for
   * (this EK, this AK's name). `idObject` and `encryptedSecret` are the
   * marshalled TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET.
   */
  activateCredential(idObject: Uint8Array, encryptedSecret: Uint8Array): Promise<Uint8Array> {
    return this.#exclusive(async (ws) => {
      await this.#requireAk();
      const blob = ws.path('credential.blob');
      const out = ws.path('secret.out');
      await writeFile(blob, encodeCredentialFile({ idObject, encryptedSecret }), { mode: 0o600 });
      return ws.withAk(async (ak) => {
        const ek = await ws.ek();
        const auth = await ws.ekPolicySession();
        try {
          await ws.run('tpm2_activatecredential', ['-c', ak, '-C', ek, '-i', blob, '-o', out, '-P', auth]);
          return Uint8Array.from(await readFile(out));
        } finally {
          await rm(out, { force: true });
          await ws.flush();
        }
      });
    });
  }

  /** TPM2_Quote over `selection` with `qualifyingData` as extraData (at most 64 bytes). */
  quote(selection: PcrSelection, qualifyingData: Uint8Array): Promise<TpmQuote> {
    const size = BANK_SIZE[selection.bank];
    if (size === undefined) return Promise.reject(new TpmError('config', 'pcrSelection', `unknown bank ${selection.bank}`));
    const sorted = selection.pcrs.every((p, i) => Number.isInteger(p) && p >= 0 && p <= 31 && (i === 0 || p > (selection.pcrs[i - 1] as number)));
    if (selection.pcrs.length === 0 || !sorted) return Promise.reject(new TpmError('config', 'pcrSelection', 'PCR indices must be ascending, unique, 0–31'));
    if (qualifyingData.length > 64) return Promise.reject(new TpmError('config', 'qualifyingData', 'at most 64 bytes'));
    return this.#exclusive(async (ws) => {
      await this.#requireAk();
      const files = { nonce: ws.path('nonce.bin'), msg: ws.path('quote.msg'), sig: ws.path('quote.sig'), pcrs: ws.path('quote.pcrs') };
      await writeFile(files.nonce, qualifyingData);
      const spec = `${selection.bank}:${selection.pcrs.join(',')}`;
      const quoteArgs = ['-l', spec, '-q', files.nonce, '-m', files.msg, '-s', files.sig, '-o', files.pcrs, '-F', 'values', '-g', 'sha256'];
      await ws.withAk((ak) => ws.run('tpm2_quote', ['-c', ak, ...quoteArgs]));
      await ws.flush();
      const attest = Uint8Array.from(attestBody(await readFile(files.msg)));
      const signature = Uint8Array.from(await readFile(files.sig));
      const raw = await readFile(files.pcrs);
      if (raw.length !== size * selection.pcrs.length) {
        throw new TpmError('state', 'tpm2_quote', `${raw.length} bytes of PCR values for ${selection.pcrs.length} ${selection.bank} PCRs`);
      }
      try {
        checkPcrSelection(parseQuoteAttest(attest).pcrSelection, selection);
      } catch (e) {
        throw new TpmError('state', 'tpm2_quote', `the TPM did not quote ${spec} (is the ${selection.bank} bank active?)`, { cause: e });
      }
      const pcrValues = selection.pcrs.map((_, i) => Uint8Array.from(raw.subarray(i * size, (i + 1) * size)));
      return { attest, signature, pcrSelection: { bank: selection.bank, pcrs: [...selection.pcrs] }, pcrValues };
    });
  }
}
