/** Time is injected so state transitions stay deterministic and replayable. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests and replays move by hand. */
export class ManualClock implements Clock {
  #t: number;
  constructor(start = 1_700_000_000_000) {
    this.#t = start;
  }
  now(): number {
    return this.#t;
  }
  advance(ms: number): void {
    this.#t += ms;
  }
  set(ms: number): void {
    this.#t = ms;
  }
}
