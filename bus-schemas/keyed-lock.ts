/**
 * Work serialized per key (a machine, a unit, a ledger owner, a request
 * digest): `run` starts `fn` once every earlier run for the same key has
 * settled, whatever its outcome. Keys with nothing queued are forgotten.
 * Pure (no I/O), so the agent and the orchestrator share it.
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
