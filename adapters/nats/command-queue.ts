/**
 * bus(nats): the agents' work queues on the CMD stream (the orchestrator's
 * CommandQueue port, orchestrator/provisioning/provisioning-service.ts).
 * Each agent has a durable push consumer that delivers `cmd.<machine>` to
 * `holon.<host>.cmd`, inside its own subject space: the agent user has no
 * `$JS.API` rights, so adapters/nats/agent-bus.ts reads that subject as a
 * core subscription and acks there. The consumer is created through the
 * `admin` identity (the only one allowed the JetStream API); commands are
 * published through the `writer` identity with the command's msg id, so a
 * re-send collapses in the stream's duplicate window.
 */
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { convertId, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { AGENT_COMMAND_TOKEN, agentConsumerName, cmdSubject, holonSubject } from '../../bus-schemas/subjects.js';
import type { BusConnection } from './connect.js';

/** How long a delivered command may stay unacked before JetStream delivers it again. */
const ACK_WAIT_NS = 30_000_000_000;
const MAX_ACK_PENDING = 256;

export class AgentCommandQueue {
  readonly #admin: BusConnection;
  readonly #writer: BusConnection;
  readonly #logger: Logger;
  /** Machines whose consumer this process already made sure of (adding it again is idempotent, but a round trip). */
  readonly #ensured = new Set<string>();

  constructor(admin: BusConnection, writer: BusConnection, logger: Logger) {
    this.#admin = admin;
    this.#writer = writer;
    this.#logger = logger;
  }

  /** Make sure `machineId`'s queue consumer exists (idempotent). */
  async ensure(machineId: PublicKeyIdV1): Promise<void> {
    if (this.#ensured.has(machineId)) return;
    const name = agentConsumerName(machineId);
    await this.#admin.jsm.consumers.add('CMD', {
      durable_name: name,
      filter_subject: cmdSubject(machineId),
      deliver_subject: holonSubject(convertId(machineId, 'holon'), AGENT_COMMAND_TOKEN),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: ACK_WAIT_NS,
      max_ack_pending: MAX_ACK_PENDING,
    });
    this.#ensured.add(machineId);
    this.#logger.debug({ machine_id: machineId, consumer: name }, 'agent command queue ready');
  }

  /** Publish a sealed command to `machineId`'s queue; `msgId` collapses re-sends. */
  async publish(machineId: PublicKeyIdV1, msgId: string, bytes: Uint8Array): Promise<void> {
    await this.#writer.js.publish(cmdSubject(machineId), bytes, { msgID: msgId });
  }
}
