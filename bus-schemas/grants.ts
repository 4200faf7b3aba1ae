/**
 * Every kind of NATS identity Holonet mints, and exactly what each may
 * publish and subscribe to (docs/security.md has the table; a test checks the
 * table against these functions). Pure data: adapters/nats/credentials turns
 * a grant into a user JWT, the orchestrator into a certificate digest.
 *
 * The rule behind every line: an identity may publish only where its work
 * needs and subscribe only to its own subjects and its own inbox. Nobody but
 * the ledger writer publishes on `ledger.>`; nobody but the admin identity
 * calls the JetStream API (the operator's read-only ledger reads excepted,
 * for `holonctl audit`); nobody may purge or delete anything of LEDGER. No
 * grant allows responses to arbitrary reply subjects (NATS `allow_responses`):
 * a responder publishes only into the inbox its grant names.
 */
import { convertId, type CellIdV1, type HolonIdV1, type PublicKeyIdV1 } from './ids.js';
import {
  API_ROOT,
  CMD_ROOT,
  BUDGET_NOTICE_TOKEN,
  EVT_ROOT,
  HOLON_ROOT,
  INBOX_ROOT,
  JOB_COMMAND_TOKEN,
  JOB_OUTPUT_TOKEN,
  LEDGER_ROOT,
  UNIT_REPORT_TOKEN,
  agentConsumerName,
  bootstrapInboxPrefix,
  holonWildcard,
  inboxPrefix,
} from './subjects.js';

export type CredentialKind = 'bootstrap' | 'machine' | 'holon' | 'operator' | 'orchestrator-serve' | 'ledger-writer' | 'admin';

export const CREDENTIAL_KINDS: readonly CredentialKind[] = ['bootstrap', 'machine', 'holon', 'operator', 'orchestrator-serve', 'ledger-writer', 'admin'];

export interface UserGrant {
  kind: CredentialKind;
  /** shown by the server and in the JWT `name` */
  name: string;
  publish: readonly string[];
  /** subjects refused even where `publish` would allow them */
  publishDeny?: readonly string[];
  subscribe: readonly string[];
  /** the inbox prefix the client must connect with (`inboxPrefix` option) */
  inboxPrefix: string;
  /** JWT expiry, Unix ms */
  expiresAt?: number;
}

/** The stream whose data nobody may remove: the API subjects that would. */
export const LEDGER_DESTRUCTIVE_API = ['$JS.API.STREAM.PURGE.LEDGER', '$JS.API.STREAM.DELETE.LEDGER', '$JS.API.STREAM.MSG.DELETE.LEDGER'] as const;

/** Read-only ledger API for `holonctl audit`: stream info and single-message gets, no consumers. */
export const LEDGER_READ_API = ['$JS.API.INFO', '$JS.API.STREAM.INFO.LEDGER', '$JS.API.STREAM.MSG.GET.LEDGER'] as const;

const cellKey = (cell: CellIdV1): PublicKeyIdV1 => convertId(cell, 'key');

/**
 * Un-enrolled agents share one bootstrap credential: the three bootstrap
 * requests, and replies under `_INBOX.bootstrap.>`. Each session's replies go
 * to `_INBOX.bootstrap.<its machine key>`; since the credential is shared, a
 * bootstrapping host can read other sessions' challenges (docs/security.md).
 */
export function bootstrapGrant(): UserGrant {
  return {
    kind: 'bootstrap',
    name: 'bootstrap',
    publish: [`${API_ROOT}.bootstrap.>`],
    subscribe: [`${INBOX_ROOT}.bootstrap.>`],
    inboxPrefix: `${INBOX_ROOT}.bootstrap`,
  };
}

/** The prefix an un-enrolled machine connects with (one session's own). */
export function bootstrapSessionInbox(machineId: PublicKeyIdV1): string {
  return bootstrapInboxPrefix(machineId);
}

/**
 * An enrolled machine (its agent): its own holon subjects (unit reports,
 * job output, the delivery of its CMD queue), its EVT subjects, the acks of
 * its own CMD consumer, its inbox; answers to the cell's job requests go to
 * the cell's inbox, and nowhere else.
 */
export function machineGrant(machineId: PublicKeyIdV1, cell: CellIdV1): UserGrant {
  const holon = convertId(machineId, 'holon');
  return {
    kind: 'machine',
    name: holon,
    publish: [holonWildcard(holon), `${EVT_ROOT}.${holon}.>`, `$JS.ACK.CMD.${agentConsumerName(machineId)}.>`, `${inboxPrefix(cellKey(cell))}.>`],
    subscribe: [holonWildcard(holon), `${inboxPrefix(machineId)}.>`],
    inboxPrefix: inboxPrefix(machineId),
  };
}

/** The requests a holon may send for its own children (DESIGN §5); the cell checks its authority on each. */
export const HOLON_REQUESTS = [`${API_ROOT}.provision`, `${API_ROOT}.provision.status`, `${API_ROOT}.holons.list`, `${API_ROOT}.teardown`] as const;

/** A provisioned unit: its own subjects, the requests for its children, its inbox (DESIGN §4, §5). */
export function holonGrant(holonId: HolonIdV1, extra: { publish?: readonly string[]; subscribe?: readonly string[]; expiresAt?: number } = {}): UserGrant {
  const key = convertId(holonId, 'key');
  return {
    kind: 'holon',
    name: holonId,
    publish: [holonWildcard(holonId), ...HOLON_REQUESTS, ...(extra.publish ?? [])],
    subscribe: [holonWildcard(holonId), `${inboxPrefix(key)}.>`, ...(extra.subscribe ?? [])],
    inboxPrefix: inboxPrefix(key),
    ...(extra.expiresAt !== undefined ? { expiresAt: extra.expiresAt } : {}),
  };
}

/**
 * holonctl: the cell's request subjects (every request is sealed by the
 * principal key anyway), its inbox, the output of jobs it runs, and the
 * read-only ledger gets of `holonctl audit`.
 */
export function operatorGrant(principal: PublicKeyIdV1): UserGrant {
  return {
    kind: 'operator',
    name: 'holonctl',
    publish: [`${API_ROOT}.>`, ...LEDGER_READ_API],
    subscribe: [`${inboxPrefix(principal)}.>`, `${HOLON_ROOT}.*.${JOB_OUTPUT_TOKEN}.>`],
    inboxPrefix: inboxPrefix(principal),
  };
}

/**
 * The orchestrator's serving connection: takes every request, answers only
 * into inboxes, sends job requests to agents, tells a parent holon that a
 * child's budget ran out (NOTIFY), and reads the agents' metering batches and
 * heartbeats. No JetStream, no ledger.
 */
export function orchestratorServeGrant(cell: CellIdV1): UserGrant {
  return {
    kind: 'orchestrator-serve',
    name: 'holon-orchestrator',
    publish: [`${INBOX_ROOT}.>`, `${HOLON_ROOT}.*.${JOB_COMMAND_TOKEN}`, `${HOLON_ROOT}.*.${BUDGET_NOTICE_TOKEN}`],
    subscribe: [`${API_ROOT}.>`, `${HOLON_ROOT}.*.${UNIT_REPORT_TOKEN}`, `${EVT_ROOT}.*.metering`, `${EVT_ROOT}.*.heartbeat`, `${inboxPrefix(cellKey(cell))}.>`],
    inboxPrefix: inboxPrefix(cellKey(cell)),
  };
}

/** The orchestrator's outbox: ledger entries and agent commands, stream publishes only (acks to its inbox). */
export function ledgerWriterGrant(cell: CellIdV1): UserGrant {
  return {
    kind: 'ledger-writer',
    name: 'holon-orchestrator-writer',
    publish: [`${LEDGER_ROOT}.>`, `${CMD_ROOT}.*`],
    subscribe: [`${inboxPrefix(cellKey(cell))}.>`],
    inboxPrefix: inboxPrefix(cellKey(cell)),
  };
}

/**
 * The cell's administrative identity: the JetStream API (streams, the
 * agents' consumers, ledger replay and head reads), never the calls that
 * remove ledger data (LEDGER also denies them in its stream config).
 */
export function adminGrant(cell: CellIdV1): UserGrant {
  return {
    kind: 'admin',
    name: 'holon-orchestrator-admin',
    publish: ['$JS.API.>'],
    publishDeny: [...LEDGER_DESTRUCTIVE_API],
    subscribe: [`${inboxPrefix(cellKey(cell))}.>`],
    inboxPrefix: inboxPrefix(cellKey(cell)),
  };
}
