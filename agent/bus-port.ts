/**
 * The bus as the agent needs it: the port is declared in
 * bus-schemas/units/bus-port.ts (so adapters/nats/agent-bus.ts can implement
 * it without importing agent/) and re-exported here for the agent's files.
 * Plus the one place that turns a cell's reply bytes into a verified object
 * or a typed refusal.
 */
import type { CasDigest } from '../bus-schemas/digest.js';
import type { PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { decodeSignedReply } from '../bus-schemas/signed-reply.js';
import type { SealedWireType } from '../bus-schemas/wire.js';
import { CellReplyError, CellRefusedError } from './agent-error.js';

export {
  BusUnavailableError,
  type AgentBus,
  type AgentBusConnectOptions,
  type AgentBusConnector,
  type BusMessage,
  type BusSubscription,
} from '../bus-schemas/units/bus-port.js';

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Decode a reply of `type` sealed by `cellKey`, or a RefusalV1 (the rules:
 * bus-schemas/signed-reply.ts). A refusal sealed by the certified cell key is
 * authenticated; before the cell has proven itself (the hello) any refusal is
 * only informational and marked so, and the reply's seal is left to the
 * caller (verifyChallenge checks it against the certified cell key).
 * `requestDigest` (digestRaw of the bytes sent) makes a refusal of another
 * request a CellReplyError rather than a refusal of this one.
 */
export function decodeCellReply<T>(
  subject: string,
  bytes: Uint8Array,
  type: SealedWireType<T, keyof T & string>,
  cellKey: PublicKeyIdV1 | undefined,
  requestDigest?: CasDigest,
): T {
  const r = decodeSignedReply(bytes, { replyType: type, replySealedBy: cellKey ?? 'deferred', ...(requestDigest !== undefined ? { requestDigest } : {}) });
  switch (r.kind) {
    case 'reply':
      return r.value;
    case 'refusal': {
      const { refusal } = r;
      const authenticated = cellKey !== undefined && refusal.refuser_seal.key === cellKey;
      throw new CellRefusedError(subject, refusal.code, refusal.reason ?? refusal.message, authenticated);
    }
    case 'not-json':
      throw new CellReplyError(subject, `not JSON: ${errorMessage(r.error)}`, { cause: r.error });
    case 'bad-refusal':
      throw new CellReplyError(subject, `a refusal that does not verify: ${errorMessage(r.error)}`, { cause: r.error });
    case 'other-request':
      throw new CellReplyError(subject, `a refusal of another request (${r.requestDigest})`);
    case 'bad-reply':
      throw new CellReplyError(subject, `not a valid ${type.name}: ${errorMessage(r.error)}`, { cause: r.error });
    case 'bad-seal':
      throw new CellReplyError(subject, `${type.name} is not sealed by the certified cell key ${String(cellKey)}`, { cause: r.error });
  }
}
