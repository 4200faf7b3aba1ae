/**
 * What ENROLLED means to the agent, checked when the cell hands it over and
 * again at every start: a HOST HolonCertificateV1 sealed by the cell key the
 * agent verified during bootstrap, naming this machine's key as its holon id,
 * valid now; and a NATS user JWT for this agent's own nkey, not expired,
 * stored with the seed in a 0600 .creds file.
 */
import { convertId, type HolonIdV1, type PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { HolonCertificateV1, sameKey } from '../bus-schemas/v1/holon-certificate.js';
import type { CellCertificateV1 } from '../bus-schemas/v1/cell-certificate.js';
import { CellReplyError } from './agent-error.js';
import type { AgentState } from './agent-state.js';
import { AGENT_FILES, type KeyStore } from './key-store.js';
import type { MachineIdentity, NatsUserKey } from './machine-key.js';

export interface Enrollment {
  holonId: HolonIdV1;
  holonCertificate: HolonCertificateV1;
  cellCertificate: CellCertificateV1;
  /** the .creds file (JWT + seed, 0600) to connect with */
  credsFile: string;
}

/** The claims of a compact JWT we look at; undefined if it is not one. */
export function jwtClaims(jwt: string): { sub?: string; exp?: number } | undefined {
  const parts = jwt.trim().split('.');
  if (parts.length !== 3) return undefined;
  try {
    const c = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as { sub?: unknown; exp?: unknown };
    return { ...(typeof c.sub === 'string' ? { sub: c.sub } : {}), ...(typeof c.exp === 'number' ? { exp: c.exp } : {}) };
  } catch {
    return undefined;
  }
}

const SUBJECT = 'enrollment';

/** Throws CellReplyError naming what is wrong with an enrollment the cell sent. */
export function checkEnrollment(
  cert: HolonCertificateV1,
  jwt: string,
  cell: CellCertificateV1,
  ctx: { machineId: PublicKeyIdV1; natsUserKey: string; now: number },
): void {
  const bad = (reason: string, cause?: unknown): never => {
    throw new CellReplyError(SUBJECT, reason, cause === undefined ? undefined : { cause });
  };
  try {
    HolonCertificateV1.verify(cert, convertId(cell.cell_id, 'key'));
  } catch (e) {
    bad('holon certificate is not sealed by the certified cell key', e);
  }
  if (cert.cell_id !== cell.cell_id) bad(`holon certificate is from cell ${cert.cell_id}, not ${cell.cell_id}`);
  if (cert.role !== 'HOST') bad(`holon certificate has role ${cert.role}, expected HOST`);
  if (!sameKey(cert.holon_id, ctx.machineId)) bad(`holon certificate names ${cert.holon_id}, not this machine's key`);
  if (ctx.now < cert.not_before || ctx.now > cert.not_after) bad('holon certificate is not valid now');
  const claims = jwtClaims(jwt);
  if (claims === undefined) bad('the NATS user JWT is not a JWT');
  if (claims?.sub !== ctx.natsUserKey) bad(`the NATS user JWT is for ${String(claims?.sub)}, not for this agent's nkey ${ctx.natsUserKey}`);
  if (claims?.exp !== undefined && claims.exp * 1000 <= ctx.now) bad('the NATS user JWT has expired');
}

/** At start-up: is the stored enrollment still usable? */
export async function checkStoredEnrollment(
  s: AgentState,
  o: { store: KeyStore; machine: MachineIdentity; natsKey: NatsUserKey; pinnedRoots: readonly PublicKeyIdV1[]; clock: { now(): number } },
): Promise<{ ok: true; enrollment: Enrollment } | { ok: false; reason: string }> {
  const cert = s.holon_certificate;
  const cell = s.cell_certificate;
  if (cert === undefined || cell === undefined) return { ok: false, reason: 'state.json has no certificates' };
  if (!o.pinnedRoots.includes(cell.principal_key)) return { ok: false, reason: `the cell's principal ${cell.principal_key} is no longer pinned` };
  const file = await o.store.read(AGENT_FILES.creds);
  if (file === undefined) return { ok: false, reason: `${o.store.path(AGENT_FILES.creds)} is missing` };
  if ((file.mode & 0o077) !== 0) return { ok: false, reason: `${o.store.path(AGENT_FILES.creds)} is readable by group or others` };
  const text = new TextDecoder().decode(file.bytes);
  const jwt = /-----BEGIN NATS USER JWT-----\s*([A-Za-z0-9_.-]+)\s*-/.exec(text)?.[1];
  if (jwt === undefined || !text.includes(o.natsKey.seed())) return { ok: false, reason: 'the .creds file does not hold our JWT and nkey seed' };
  try {
    checkEnrollment(cert, jwt, cell, { machineId: o.machine.machineId, natsUserKey: o.natsKey.publicKey, now: o.clock.now() });
  } catch (e) {
    return { ok: false, reason: (e as CellReplyError).reason };
  }
  return { ok: true, enrollment: { holonId: cert.holon_id, holonCertificate: cert, cellCertificate: cell, credsFile: o.store.path(AGENT_FILES.creds) } };
}
