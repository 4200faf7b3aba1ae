/**
 * The subject map: every NATS subject Holonet publishes on, built by a
 * function that validates its id tokens, and the parsers the other side uses.
 *
 *   api.provision                 signed ProvisioningRequestV1 (request/reply)
 *   api.bootstrap.hello           bootstrap step 1 (request/reply)
 *   api.bootstrap.attest          bootstrap step 3 (request/reply)
 *   cmd.<machine hkey1…>          work queue of one agent (CMD stream)
 *   evt.<holon1…>.<event>         metering batches, heartbeats (EVT stream)
 *   ledger.<holon1…|cell1…>       one append-only chain per owner (LEDGER stream)
 *   holon.<holon1…>.>             everything a holon's NATS user may touch
 *
 * Ids are bech32m ([a-z0-9], no dots or wildcards), so a validated id is always
 * exactly one subject token; anything else is refused before it reaches a
 * subject, where a stray `.`, `*` or `>` would widen a permission.
 */
import { HolonError } from './errors.js';
import { decodeId, type CellIdV1, type HolonIdV1, type IdKind, type PublicKeyIdV1 } from './ids.js';

/** A subject or subject token that is not what it must be. */
export class SubjectError extends HolonError {
  static readonly CODE = 'HOLON_E_BAD_SUBJECT';
  readonly subject: string;
  readonly reason: string;
  constructor(subject: string, reason: string) {
    super(SubjectError.CODE, `subject "${subject.slice(0, 200)}": ${reason}`);
    this.subject = subject.slice(0, 200);
    this.reason = reason;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, subject: this.subject, reason: this.reason };
  }
}

export const API_SUBJECTS = {
  provision: 'api.provision',
  bootstrapHello: 'api.bootstrap.hello',
  bootstrapAttest: 'api.bootstrap.attest',
  bootstrapStatus: 'api.bootstrap.status',
  /** principal → cell: MachineApprovalV1 */
  approve: 'api.machines.approve',
  /** principal → cell: list machines (sealed query) */
  machines: 'api.machines.list',
  /** requester → cell: ProvisionStatusRequestV1 */
  provisionStatus: 'api.provision.status',
  /** requester → cell: HolonListRequestV1 */
  holons: 'api.holons.list',
  /** requester → cell: TeardownRequestV1 */
  teardown: 'api.teardown',
  /** requester → cell: JobRequestV1 (answered with the agent's JobResultV1) */
  jobRun: 'api.job.run',
  /** principal or parent → cell: BudgetTopupV1 (answered with ProvisionStatusV1) */
  budgetTopup: 'api.budget.topup',
} as const;

/** `holon.<host holon>.cmd`: where the CMD work queue of a machine is delivered (a push consumer). */
export const AGENT_COMMAND_TOKEN = 'cmd';
/** `holon.<host holon>.unit`: where an agent reports its units to the cell (request/reply). */
export const UNIT_REPORT_TOKEN = 'unit';
/** `holon.<host holon>.job`: where the cell hands an agent a JobCommandV1 (request/reply). */
export const JOB_COMMAND_TOKEN = 'job';
/** `holon.<host holon>.jobout.<job id>`: a running job's output chunks. */
export const JOB_OUTPUT_TOKEN = 'jobout';
/** `holon.<parent>.budget`: the cell's notice (a sealed ProvisionStatusV1 of the child) that a child's budget ran out under NOTIFY. */
export const BUDGET_NOTICE_TOKEN = 'budget';

/** The durable CMD consumer of one machine (a valid JetStream consumer name). */
export function agentConsumerName(machine: PublicKeyIdV1): string {
  return `agent-${idToken(machine, ['key'], 'machine id')}`;
}

/** Root tokens, also the subject filters of the streams (`cmd.>`, `evt.>`, `ledger.>`). */
export const CMD_ROOT = 'cmd';
export const EVT_ROOT = 'evt';
export const LEDGER_ROOT = 'ledger';
export const HOLON_ROOT = 'holon';
export const API_ROOT = 'api';

/** A plain token: lowercase word characters and dashes, 1–32 long. */
const WORD_TOKEN = /^[a-z][a-z0-9_-]{0,31}$/;

export const EVT_KINDS = ['metering', 'heartbeat', 'provisioned', 'job'] as const;
export type EvtKind = (typeof EVT_KINDS)[number];

function idToken(id: string, kinds: readonly IdKind[], what: string): string {
  let kind: IdKind;
  try {
    kind = decodeId(id).kind;
  } catch (e) {
    throw new SubjectError(id, `${what} is not a valid id (${(e as HolonError & { reason?: string }).reason ?? 'invalid'})`);
  }
  if (!kinds.includes(kind)) throw new SubjectError(id, `${what} must be a ${kinds.map((k) => `${k} id`).join(' or ')}`);
  return id;
}

function wordToken(token: string, what: string): string {
  if (!WORD_TOKEN.test(token)) throw new SubjectError(token, `${what} must match ${WORD_TOKEN.source}`);
  return token;
}

/** `api.<name…>`: request/reply endpoints served by a cell. */
export function apiSubject(...tokens: string[]): string {
  if (tokens.length === 0 || tokens.length > 4) throw new SubjectError(tokens.join('.'), 'api subject needs 1 to 4 tokens');
  return [API_ROOT, ...tokens.map((t) => wordToken(t, 'api token'))].join('.');
}

/** `cmd.<machine-id>`: the work queue of one agent; the machine id is its hkey1… key id. */
export function cmdSubject(machine: PublicKeyIdV1): string {
  return `${CMD_ROOT}.${idToken(machine, ['key'], 'machine id')}`;
}

/** `evt.<holon-id>.<event>`, e.g. `evt.holon1….metering`. */
export function evtSubject(holon: HolonIdV1, event: EvtKind): string {
  return `${EVT_ROOT}.${idToken(holon, ['holon'], 'holon id')}.${wordToken(event, 'event kind')}`;
}

export type LedgerOwner = HolonIdV1 | CellIdV1;

/** `ledger.<owner>`: the chain of one holon or one cell. */
export function ledgerSubject(owner: LedgerOwner): string {
  return `${LEDGER_ROOT}.${idToken(owner, ['holon', 'cell'], 'ledger owner')}`;
}

/** The owner named by a `ledger.<owner>` subject; throws SubjectError for anything else. */
export function parseLedgerSubject(subject: string): LedgerOwner {
  const dot = subject.indexOf('.');
  if (dot < 0 || subject.slice(0, dot) !== LEDGER_ROOT) throw new SubjectError(subject, 'not a ledger.<owner> subject');
  const owner = subject.slice(dot + 1);
  if (owner.includes('.')) throw new SubjectError(subject, 'ledger subject has more than two tokens');
  return idToken(owner, ['holon', 'cell'], 'ledger owner') as LedgerOwner;
}

/** `holon.<id>.<token…>`: a holon's own subject space. */
export function holonSubject(holon: HolonIdV1, ...tokens: string[]): string {
  if (tokens.length === 0 || tokens.length > 6) throw new SubjectError(tokens.join('.'), 'holon subject needs 1 to 6 tokens');
  return [HOLON_ROOT, idToken(holon, ['holon'], 'holon id'), ...tokens.map((t) => wordToken(t, 'holon subject token'))].join('.');
}

/** `holon.<id>.>`: the pattern a holon's NATS user is confined to (DESIGN §4). */
export function holonWildcard(holon: HolonIdV1): string {
  return `${HOLON_ROOT}.${idToken(holon, ['holon'], 'holon id')}.>`;
}

/** The machine id named by a `cmd.<machine-id>` subject. */
export function parseCmdSubject(subject: string): PublicKeyIdV1 {
  const parts = subject.split('.');
  if (parts.length !== 2 || parts[0] !== CMD_ROOT) throw new SubjectError(subject, 'not a cmd.<machine-id> subject');
  return idToken(parts[1] as string, ['key'], 'machine id') as PublicKeyIdV1;
}

/** The holon id and event of an `evt.<holon-id>.<event>` subject. */
export function parseEvtSubject(subject: string): { holon: HolonIdV1; event: string } {
  const parts = subject.split('.');
  if (parts.length !== 3 || parts[0] !== EVT_ROOT) throw new SubjectError(subject, 'not an evt.<holon-id>.<event> subject');
  return {
    holon: idToken(parts[1] as string, ['holon'], 'holon id') as HolonIdV1,
    event: wordToken(parts[2] as string, 'event kind'),
  };
}

/*
 * Inboxes and reply subjects (DESIGN §3: replies go only to the requester's
 * own inbox). Every identity that sends requests owns one inbox prefix,
 * bound to the key that seals its requests:
 *
 *   _INBOX.<hkey1…>                 a machine, a holon, an operator (principal), the cell
 *   _INBOX.bootstrap.<hkey1…>       an un-enrolled machine's bootstrap session
 *
 * A responder answers only on a subject under the prefix of the key that
 * sealed the request, checked by replySubjectAllowed before anything is
 * sent; NATS permissions confine each identity to subscribing its own
 * prefix, and the serving identities to publishing under `_INBOX.>`.
 */
export const INBOX_ROOT = '_INBOX';
export const BOOTSTRAP_INBOX_TOKEN = 'bootstrap';

/** The inbox prefix of the identity that seals with `key` (machine, holon, operator, cell). */
export function inboxPrefix(key: PublicKeyIdV1): string {
  return `${INBOX_ROOT}.${idToken(key, ['key'], 'inbox owner')}`;
}

/** The inbox prefix of the bootstrap session of the machine key `key`. */
export function bootstrapInboxPrefix(key: PublicKeyIdV1): string {
  return `${INBOX_ROOT}.${BOOTSTRAP_INBOX_TOKEN}.${idToken(key, ['key'], 'machine id')}`;
}

/** A reply subject longer than this is refused whatever its prefix. */
export const MAX_REPLY_SUBJECT = 256;
const REPLY_TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Whether `reply` is a concrete subject strictly under one of `prefixes`:
 * `<prefix>.<token>(.<token>)*`, tokens of [A-Za-z0-9_-] (no wildcards, no
 * empty tokens, no `$`), bounded length. Pure; the one rule every responder uses.
 */
export function replySubjectAllowed(reply: string | undefined, prefixes: readonly string[]): boolean {
  if (reply === undefined || reply.length === 0 || reply.length > MAX_REPLY_SUBJECT) return false;
  for (const prefix of prefixes) {
    if (!reply.startsWith(`${prefix}.`)) continue;
    const rest = reply.slice(prefix.length + 1).split('.');
    if (rest.length <= 8 && rest.every((t) => REPLY_TOKEN.test(t))) return true;
  }
  return false;
}

/** Whether `reply` is some inbox at all (`_INBOX.<token>.…`): where a refusal may go when the requester is unknown. */
export function isInboxSubject(reply: string | undefined): boolean {
  return replySubjectAllowed(reply, [INBOX_ROOT]) && (reply as string).split('.').length >= 3;
}
