/**
 * The bus as the agent needs it: the port is declared in
 * bus-schemas/units/bus-port.ts (so adapters/nats/agent-bus.ts can implement
 * it without importing agent/) and re-exported here for the agent's files.
 * Plus the one place that turns a cell's reply bytes into a verified object
 * or a typed refusal.
 */
import type { PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { RefusalV1 } from '../bus-schemas/v1/refusal.js';
import { decodeJson, type SealedWireType } from '../bus-schemas/wire.js';
import { CellReplyError, CellRefusedError } from './agent-error.js';

export {
  BusUnavailableError,
  type AgentBus,
  type AgentBusConnectOptions,
  type AgentBusConnector,
  type BusMessage,
  type BusSubscription,
} from '../bus-schemas/units/bus-port.js';

/**
 * Decode a reply of `type` sealed by `cellKey`, or a RefusalV1. A refusal
 * sealed by the certified cell key is authenticated; before the cell has
 * proven itself (the hello) any refusal is only informational and marked so.
 */
export function decodeCellReply<T>(subject: string, bytes: Uint8Array, type: SealedWireType<T, keyof T & string>, cellKey: PublicKeyIdV1 | undefined): T {
  let json: unknown;
  try {
    json = decodeJson(bytes, type.name, Math.max(type.maxBytes, RefusalV1.maxBytes));
  } catch (e) {
    throw new CellReplyError(subject, `not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof json === 'object' && json !== null && Object.prototype.hasOwnProperty.call(json, RefusalV1.sealField)) {
    let refusal: RefusalV1;
    try {
      refusal = RefusalV1.parse(json);
      RefusalV1.verify(refusal);
    } catch (e) {
      throw new CellReplyError(subject, `a refusal that does not verify: ${(e as Error).message}`, { cause: e });
    }
    const authenticated = cellKey !== undefined && refusal.refuser_seal.key === cellKey;
    throw new CellRefusedError(subject, refusal.code, refusal.reason ?? refusal.message, authenticated);
  }
  let value: T;
  try {
    value = type.parse(json);
  } catch (e) {
    throw new CellReplyError(subject, `not a valid ${type.name}: ${(e as Error).message}`, { cause: e });
  }
  if (cellKey !== undefined) {
    try {
      type.verify(value, cellKey);
    } catch (e) {
      throw new CellReplyError(subject, `${type.name} is not sealed by the certified cell key ${cellKey}`, { cause: e });
    }
  }
  return value;
}
