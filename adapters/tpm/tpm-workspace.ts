/**
 * One attestor operation's scratch space and the TPM objects it loads: a
 * 0700 directory under the state dir (secrets only ever pass through files
 * here, never argv), the transient EK, the EK's policy session
 * (PolicySecret(endorsement), as tpm2-tools' own examples do for
 * ActivateCredential and Load under an EK), and the AK loaded from its saved
 * context — or, when that context no longer loads (TPM reset: reboot or
 * power loss), reloaded from its public/private blobs under the EK.
 *
 * close() flushes what the operation loaded, so repeated bootstraps never
 * exhaust the TPM's few transient and session slots, and removes the files.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TpmError } from './tpm-error.js';
import { runTpm2, type Tpm2ToolsConfig, type ToolResult } from './tpm2-tools.js';

export const AK_FILES = { pub: 'ak.pub', priv: 'ak.priv', name: 'ak.name', ctx: 'ak.ctx' } as const;

export class TpmWorkspace {
  readonly dir: string;
  readonly #config: Tpm2ToolsConfig;
  readonly #stateDir: string;
  readonly #ekAlgorithm: 'rsa' | 'ecc';
  #ek: string | undefined;
  #session: string | undefined;

  private constructor(dir: string, config: Tpm2ToolsConfig, stateDir: string, ekAlgorithm: 'rsa' | 'ecc') {
    this.dir = dir;
    this.#config = config;
    this.#stateDir = stateDir;
    this.#ekAlgorithm = ekAlgorithm;
  }

  static async open(config: Tpm2ToolsConfig, stateDir: string, ekAlgorithm: 'rsa' | 'ecc'): Promise<TpmWorkspace> {
    // mkdtemp creates the directory 0700
    const dir = await mkdtemp(join(stateDir, 'op-'));
    return new TpmWorkspace(dir, config, stateDir, ekAlgorithm);
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  statePath(name: string): string {
    return join(this.#stateDir, name);
  }

  run(tool: string, args: readonly string[]): Promise<ToolResult> {
    return runTpm2(this.#config, tool, args, this.dir);
  }

  /** The EK as a transient object (created from the default TCG template); returns its context file. */
  async ek(): Promise<string> {
    if (this.#ek !== undefined) return this.#ek;
    const ctx = this.path('ek.ctx');
    await this.run('tpm2_createek', ['-c', ctx, '-G', this.#ekAlgorithm, '-u', this.path('ek.pub')]);
    this.#ek = ctx;
    return ctx;
  }

  /** A policy session satisfying the EK's policy (PolicySecret with the endorsement hierarchy); returns the `-P` argument. */
  async ekPolicySession(): Promise<string> {
    if (this.#session === undefined) {
      const session = this.path('session.ctx');
      await this.run('tpm2_startauthsession', ['--policy-session', '-S', session]);
      this.#session = session;
      await this.run('tpm2_policysecret', ['-S', session, '-c', 'e']);
    }
    return `session:${this.#session}`;
  }

  /** Release the policy session (a policy session is spent once it authorizes a command). */
  async endSession(): Promise<void> {
    const s = this.#session;
    this.#session = undefined;
    if (s !== undefined && existsSync(s)) await this.run('tpm2_flushcontext', [s]).catch(() => undefined);
  }

  /**
   * Run `use(akContext)` with the AK from its saved context; if the TPM
   * refuses that context (it was saved before a TPM reset), reload the AK
   * under the EK, save the fresh context in the state dir, and run once more.
   */
  async withAk<T>(use: (akContext: string) => Promise<T>): Promise<T> {
    const saved = this.statePath(AK_FILES.ctx);
    try {
      return await use(saved);
    } catch (e) {
      if (!(e instanceof TpmError) || !/ContextLoad|Cannot make sense of object context/.test(e.stderr)) throw e;
    }
    await this.#reloadAk();
    return use(saved);
  }

  async #reloadAk(): Promise<void> {
    const ek = await this.ek();
    const auth = await this.ekPolicySession();
    const fresh = this.path(AK_FILES.ctx);
    await this.run('tpm2_load', ['-C', ek, '-u', this.statePath(AK_FILES.pub), '-r', this.statePath(AK_FILES.priv), '-c', fresh, '-P', auth]);
    await this.endSession();
    await rename(fresh, this.statePath(AK_FILES.ctx));
    await this.flush();
  }

  /**
   * Flush the session and every transient object (`tpm2_flushcontext -t`).
   * Through the kernel resource manager (/dev/tpmrm0) that is only this
   * connection's objects; on a raw TPM or swtpm it is all of them, which
   * assumes — like tpm2-tools itself — that the agent owns the TPM.
   */
  async flush(): Promise<void> {
    await this.endSession();
    await this.run('tpm2_flushcontext', ['-t']);
    this.#ek = undefined;
  }

  /** Flush and delete the scratch directory (always call, in finally). */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await rm(this.dir, { recursive: true, force: true });
    }
  }
}
