/**
 * Once enrolled, the agent says it is alive: a sealed HeartbeatV1 on
 * `evt.<holon-id>.heartbeat`, at start and then every interval. A publish
 * while the connection is down is buffered or dropped by the NATS client
 * (reconnect is its job); a failure is logged, never fatal.
 */
import type { Logger } from 'pino';
import type { Clock } from '../bus-schemas/clock.js';
import type { HolonIdV1, PublicKeyIdV1 } from '../bus-schemas/ids.js';
import type { Signer } from '../bus-schemas/keys.js';
import { evtSubject } from '../bus-schemas/subjects.js';
import { HeartbeatV1 } from '../bus-schemas/v1/heartbeat.js';
import type { AgentBus } from './bus-port.js';

export interface HeartbeatOptions {
  bus: AgentBus;
  signer: Signer;
  machineId: PublicKeyIdV1;
  holonId: HolonIdV1;
  intervalMs: number;
  clock: Clock;
  log: Logger;
}

export class Heartbeat {
  readonly subject: string;
  readonly #o: HeartbeatOptions;
  readonly #startedAt: number;
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: HeartbeatOptions) {
    this.#o = options;
    this.subject = evtSubject(options.holonId, 'heartbeat');
    this.#startedAt = options.clock.now();
  }

  /** Heartbeats published so far. */
  get sent(): number {
    return this.#seq;
  }

  /** The next heartbeat, sealed. */
  make(): HeartbeatV1 {
    this.#seq += 1;
    return HeartbeatV1.seal(
      {
        holon_id: this.#o.holonId,
        machine_id: this.#o.machineId,
        seq: this.#seq,
        started_at: { unix_ms: this.#startedAt, source: 'SYSTEM' },
        sent_at: { unix_ms: this.#o.clock.now(), source: 'SYSTEM' },
      },
      this.#o.signer,
    );
  }

  #beat(): void {
    try {
      const hb = this.make();
      this.#o.bus.publish(this.subject, HeartbeatV1.encode(hb));
      this.#o.log.debug({ seq: hb.seq, subject: this.subject }, 'heartbeat');
    } catch (e) {
      this.#o.log.warn({ err: (e as Error).message, subject: this.subject }, 'heartbeat not published');
    }
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#beat();
    this.#timer = setInterval(() => this.#beat(), this.#o.intervalMs);
    this.#o.log.info({ subject: this.subject, interval_ms: this.#o.intervalMs }, 'heartbeats started');
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
