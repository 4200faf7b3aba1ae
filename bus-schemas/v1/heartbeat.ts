import { HolonIdSchema, PublicKeyIdSchema } from '../ids.js';
import { integer, object, refine, type Infer } from '../schema.js';
import { AuthoritySealV1Schema } from '../seal.js';
import { defineSealedObject } from '../wire.js';
import { sameKey } from './holon-certificate.js';
import { TimeEnvelopeRefSchema } from './time-envelope.js';

/**
 * HeartbeatV1: an enrolled agent says it is alive, on
 * `evt.<holon-id>.heartbeat` every interval, sealed by the machine's key
 * (which its HOST holon id is). `seq` counts up from 1 within one agent
 * process; `started_at` tells a restart (a new `started_at`, `seq` from 1
 * again) from a lost message (a gap in `seq`).
 */
export const HeartbeatV1Schema = refine(
  object(
    {
      holon_id: HolonIdSchema,
      machine_id: PublicKeyIdSchema,
      seq: integer({ min: 1, description: 'heartbeat counter of this agent process, from 1' }),
      started_at: TimeEnvelopeRefSchema,
      sent_at: TimeEnvelopeRefSchema,
      holon_seal: AuthoritySealV1Schema,
    },
    'HeartbeatV1: an enrolled agent is alive',
  ),
  (h) => {
    if (!sameKey(h.holon_id, h.machine_id)) return { path: '.holon_id', reason: 'a HOST holon id is its machine key' };
    if (h.holon_seal.key !== h.machine_id) return { path: '.holon_seal.key', reason: 'not sealed by machine_id' };
    if (h.sent_at.unix_ms < h.started_at.unix_ms) return { path: '.sent_at', reason: 'sent before the agent started' };
    return undefined;
  },
);
export type HeartbeatV1 = Infer<typeof HeartbeatV1Schema>;
export const HeartbeatV1 = defineSealedObject('HeartbeatV1', HeartbeatV1Schema, 'holon_seal', { maxBytes: 1024 });
