/**
 * The bootstrap state machine the agent persists in state.json:
 *
 *   UNBOOTSTRAPPED → HELLO_SENT → CHALLENGE_VERIFIED → ATTESTED → ENROLLED
 *                        ↘ REFUSED (by us: the cell could not prove itself; by the cell: a typed reason)
 *
 * Deterministic core (STYLE 5): `advance(state, event, now)` → state, no I/O;
 * an event that does not fit the state is an AgentStateError. What a crash
 * leaves behind is always one of these states, and each tells the next start
 * what to do (see bootstrap-client.ts).
 */
import { PublicKeyIdSchema, type PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { boolean, enumeration, integer, literal, object, optional, string, type Infer } from '../bus-schemas/schema.js';
import { CellCertificateV1Schema, type CellCertificateV1 } from '../bus-schemas/v1/cell-certificate.js';
import { HolonCertificateV1Schema, type HolonCertificateV1 } from '../bus-schemas/v1/holon-certificate.js';
import { UnixMsSchema } from '../bus-schemas/v1/time-envelope.js';
import { defineObject } from '../bus-schemas/wire.js';
import { AgentStateError } from './agent-error.js';

export const BOOTSTRAP_STATES = ['UNBOOTSTRAPPED', 'HELLO_SENT', 'CHALLENGE_VERIFIED', 'ATTESTED', 'ENROLLED', 'REFUSED'] as const;
export type BootstrapState = (typeof BOOTSTRAP_STATES)[number];

export const AgentStateSchema = object(
  {
    version: literal(1),
    state: enumeration(BOOTSTRAP_STATES),
    machine_id: PublicKeyIdSchema,
    updated_at: UnixMsSchema,
    /** hellos sent since the last reset */
    hellos: integer({ min: 0 }),
    /** the verified certificate of the cell we are bootstrapping with (public) */
    cell_certificate: optional(CellCertificateV1Schema),
    software_only: optional(boolean()),
    /** the machine's HOST certificate, once ENROLLED */
    holon_certificate: optional(HolonCertificateV1Schema),
    /** why the last attempt was refused, and by whom */
    refusal: optional(
      object({
        by: enumeration(['agent', 'cell'] as const),
        code: string({ min: 1, max: 64, pattern: /^HOLON_E_[A-Z0-9_]+$/ }),
        reason: string({ min: 1, max: 1024 }),
        at: UnixMsSchema,
      }),
    ),
  },
  'holon-agent state.json',
);
export type AgentState = Infer<typeof AgentStateSchema>;
export const AgentStateFile = defineObject('AgentState', AgentStateSchema, { maxBytes: 64 * 1024 });

export type AgentEvent =
  | { kind: 'hello_sent' }
  | { kind: 'challenge_verified'; cellCertificate: CellCertificateV1; softwareOnly: boolean }
  | { kind: 'attested' }
  | { kind: 'enrolled'; holonCertificate: HolonCertificateV1 }
  | { kind: 'refused'; by: 'agent' | 'cell'; code: string; reason: string }
  | { kind: 'reset' };

export function initialState(machineId: PublicKeyIdV1, now: number): AgentState {
  return { version: 1, state: 'UNBOOTSTRAPPED', machine_id: machineId, updated_at: now, hellos: 0 };
}

const FROM: Record<AgentEvent['kind'], readonly BootstrapState[]> = {
  hello_sent: ['UNBOOTSTRAPPED', 'HELLO_SENT', 'CHALLENGE_VERIFIED', 'ATTESTED', 'REFUSED'],
  challenge_verified: ['HELLO_SENT'],
  attested: ['CHALLENGE_VERIFIED', 'ATTESTED'],
  enrolled: ['CHALLENGE_VERIFIED', 'ATTESTED'],
  refused: ['HELLO_SENT', 'CHALLENGE_VERIFIED', 'ATTESTED'],
  reset: BOOTSTRAP_STATES,
};

/** The next state; throws AgentStateError if `event` cannot happen in `s.state`. */
export function advance(s: AgentState, event: AgentEvent, now: number): AgentState {
  if (!FROM[event.kind].includes(s.state)) throw new AgentStateError(`event ${event.kind} cannot happen in state ${s.state}`);
  const base = { version: 1 as const, machine_id: s.machine_id, updated_at: now };
  switch (event.kind) {
    case 'hello_sent':
      return { ...base, state: 'HELLO_SENT', hellos: s.hellos + 1 };
    case 'challenge_verified':
      return { ...base, state: 'CHALLENGE_VERIFIED', hellos: s.hellos, cell_certificate: event.cellCertificate, software_only: event.softwareOnly };
    case 'attested':
      return { ...s, ...base, state: 'ATTESTED' };
    case 'enrolled': {
      if (s.cell_certificate === undefined) throw new AgentStateError('enrolled without a verified cell certificate');
      const { refusal: _r, ...rest } = s;
      return { ...rest, ...base, state: 'ENROLLED', holon_certificate: event.holonCertificate };
    }
    case 'refused':
      return { ...s, ...base, state: 'REFUSED', refusal: { by: event.by, code: event.code, reason: event.reason.slice(0, 1024), at: now } };
    case 'reset':
      return { ...initialState(s.machine_id, now), ...(s.refusal ? { refusal: s.refusal } : {}) };
  }
}

/** Parse state.json; a file for another machine key is refused (the key was replaced under us). */
export function parseAgentState(bytes: Uint8Array, machineId: PublicKeyIdV1): AgentState {
  let s: AgentState;
  try {
    s = AgentStateFile.decode(bytes);
  } catch (e) {
    throw new AgentStateError(`state.json is unreadable (${(e as Error).message})`, { cause: e });
  }
  if (s.machine_id !== machineId) throw new AgentStateError(`state.json belongs to machine ${s.machine_id}, not to this machine key ${machineId}`);
  return s;
}

export function encodeAgentState(s: AgentState): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(AgentStateFile.parse(s), null, 2)}\n`);
}
