/**
 * Bounded logging of bad input: a flood of refusals must cost bounded disk.
 * The first `burst` occurrences of each kind in an interval are logged in
 * full; the rest are only counted, and one summary per interval says how many
 * of each kind were left out. Kinds are capped too (beyond `maxKinds` they are
 * counted under "other"), so an attacker who varies the kind gains nothing.
 *
 * Pure and deterministic: the caller passes the time (an injected clock) and
 * receives the summary to log; nothing here writes anywhere.
 */

export interface LogBudgetOptions {
  /** full log lines per kind per interval (default 5) */
  burst?: number;
  /** interval length in ms (default 10 000) */
  intervalMs?: number;
  /** distinct kinds tracked per interval (default 32) */
  maxKinds?: number;
}

export interface LogSummary {
  /** start of the interval the counts are for, Unix ms */
  since: number;
  intervalMs: number;
  /** occurrences counted but not logged, per kind */
  suppressed: Record<string, number>;
  /** every occurrence of the interval, logged or not */
  total: number;
}

export class LogBudget {
  readonly #burst: number;
  readonly #intervalMs: number;
  readonly #maxKinds: number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #counts = new Map<string, number>();
  #total = 0;

  constructor(opts: LogBudgetOptions = {}) {
    this.#burst = opts.burst ?? 5;
    this.#intervalMs = opts.intervalMs ?? 10_000;
    this.#maxKinds = opts.maxKinds ?? 32;
  }

  /**
   * Count one occurrence of `kind` at `now`. `log` says whether to write it
   * in full; `summary`, when present, closes the previous interval and should
   * be logged (once) before anything else.
   */
  note(kind: string, now: number): { log: boolean; summary?: LogSummary } {
    const summary = this.#roll(now);
    const key = this.#counts.has(kind) || this.#counts.size < this.#maxKinds ? kind : 'other';
    const n = (this.#counts.get(key) ?? 0) + 1;
    this.#counts.set(key, n);
    this.#total += 1;
    return { log: n <= this.#burst, ...(summary !== undefined ? { summary } : {}) };
  }

  /** Close the interval if it is over (call it from a timer so the last summary of a flood is not lost). */
  flush(now: number): LogSummary | undefined {
    return this.#roll(now);
  }

  #roll(now: number): LogSummary | undefined {
    if (now < this.#windowStart + this.#intervalMs) return undefined;
    const suppressed: Record<string, number> = {};
    for (const [kind, n] of this.#counts) if (n > this.#burst) suppressed[kind] = n - this.#burst;
    const out: LogSummary | undefined =
      Object.keys(suppressed).length > 0 ? { since: this.#windowStart, intervalMs: this.#intervalMs, suppressed, total: this.#total } : undefined;
    this.#windowStart = now;
    this.#counts = new Map();
    this.#total = 0;
    return out;
  }
}
