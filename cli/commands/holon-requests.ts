/**
 * What the holon commands (holons.ts, budget.ts) share: option parsing with
 * the bus options, numbers and durations, nonces, and the sealed status
 * query of one provisioning.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { CasDigest } from '../../bus-schemas/digest.js';
import type { HolonIdV1 } from '../../bus-schemas/ids.js';
import { API_SUBJECTS } from '../../bus-schemas/subjects.js';
import { EXHAUSTION_POLICIES, type ExhaustionPolicy } from '../../bus-schemas/v1/exhaustion-policy.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { ProvisionStatusRequestV1, ProvisionStatusV1 } from '../../bus-schemas/v1/unit-flow.js';
import { BUS_HELP as BUS_OPTIONS_HELP, BUS_OPTIONS } from '../bus-target.js';
import { UsageError } from '../command.js';
import type { CellClient } from '../ports.js';
import type { PrincipalContext } from './machines.js';

export const BUS_HELP = `${BUS_OPTIONS_HELP}
  --json           print one JSON document on stdout`;

export const DAY = 24 * 60 * 60 * 1000;
export const POLL_MS = 100;

export function parse<T extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>>(args: string[], options: T, positionals = false) {
  try {
    return parseArgs({ args, strict: true, allowPositionals: positionals, options: { ...BUS_OPTIONS, json: { type: 'boolean' }, ...options } });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function positiveInt(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UsageError(`--${name} must be a non-negative integer, not ${JSON.stringify(v)}`);
  return Number(v);
}

/** `30s`, `15m`, `2h`, `7d` → milliseconds. */
export function parseDuration(v: string, name: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(v);
  if (m === null) throw new UsageError(`--${name} must be a duration like 90s, 15m, 2h or 7d, not ${JSON.stringify(v)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

export function exhaustionPolicy(v: string | undefined): ExhaustionPolicy {
  if (v === undefined) return 'TEARDOWN';
  if (!(EXHAUSTION_POLICIES as readonly string[]).includes(v)) throw new UsageError(`--on-exhaustion ${v} is not a policy (one of ${EXHAUSTION_POLICIES.join(', ')})`);
  return v as ExhaustionPolicy;
}

export function nonce(): string {
  return randomBytes(32).toString('base64url');
}

export async function status(client: CellClient, ctx: PrincipalContext, by: { request_digest: CasDigest } | { holon_id: HolonIdV1 }): Promise<ProvisionStatusV1> {
  const request = ProvisionStatusRequestV1.seal({ cell_id: ctx.cellId, ...by, request_nonce: nonce(), sent_at: timeAt(Date.now()) }, ctx.principal);
  return client.request({ subject: API_SUBJECTS.provisionStatus, requestType: ProvisionStatusRequestV1, request, replyType: ProvisionStatusV1, responder: ctx.cellKey });
}

/** Poll until `done(status)`; one progress line per state change. */
/** A holon id or a request digest, as the commands take them. */
export function target(id: string | undefined): { request_digest: CasDigest } | { holon_id: HolonIdV1 } {
  if (id === undefined) throw new UsageError('give a holon id (holon1…) or a request digest (sha256:…)');
  if (/^sha256:[0-9a-f]{64}$/.test(id)) return { request_digest: id as CasDigest };
  if (/^holon1[02-9ac-hj-np-z]{58}$/.test(id)) return { holon_id: id as HolonIdV1 };
  throw new UsageError(`${JSON.stringify(id.slice(0, 80))} is neither a holon id (holon1…) nor a request digest (sha256:…)`);
}

