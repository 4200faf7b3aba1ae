/**
 * `holonctl provision | holons | show | teardown`: the principal (the key of
 * the `holonctl init` data dir) asks its cell for units. Every request is a
 * sealed wire object on the bus; every answer is verified as sealed by the
 * cell of the data dir. `provision` waits (with progress on stderr) until the
 * unit runs and its receipt is issued; `teardown` until its destruction
 * receipt is. Re-running `provision --nonce <same>` with the same arguments
 * sends the same request and gets the same receipt.
 */
import { randomBytes } from 'node:crypto';
import type { CasDigest } from '../../bus-schemas/digest.js';
import { convertId, type HolonIdV1 } from '../../bus-schemas/ids.js';
import { API_SUBJECTS } from '../../bus-schemas/subjects.js';
import { ROLE_TEMPLATES } from '../../bus-schemas/units/roles.js';
import type { CapabilityManifestV1 } from '../../bus-schemas/v1/capability-manifest.js';
import { HOLON_ROLES, type HolonRole } from '../../bus-schemas/v1/holon-role.js';
import { ProvisioningRequestV1 } from '../../bus-schemas/v1/provisioning-request.js';
import { TeardownRequestV1 } from '../../bus-schemas/v1/teardown-request.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { HolonListRequestV1, HolonListV1, MAX_HOLONS_PER_PAGE, ProvisionStatusV1, type HolonRowV1 } from '../../bus-schemas/v1/unit-flow.js';
import { CliFailure, EXIT_FAILURE, EXIT_OK, UsageError, writeLine, type CliIo, type Command } from '../command.js';
import type { CellClient, CliPorts } from '../ports.js';
import { printUsage } from './budget.js';
import { BUS_HELP, exhaustionPolicy, nonce, parse, parseDuration, POLL_MS, positiveInt, status, target } from './holon-requests.js';
import { busArgs, loadPrincipalContext, openCell, type PrincipalContext } from './machines.js';

async function waitFor(
  client: CellClient,
  ctx: PrincipalContext,
  by: { request_digest: CasDigest } | { holon_id: HolonIdV1 },
  first: ProvisionStatusV1,
  done: (s: ProvisionStatusV1) => boolean,
  timeoutMs: number,
  io: CliIo,
): Promise<ProvisionStatusV1> {
  const deadline = Date.now() + timeoutMs;
  let s = first;
  let shown = '';
  for (;;) {
    if (s.holon.state !== shown) {
      shown = s.holon.state;
      writeLine(io.stderr, `holonctl: ${s.holon.state}${s.holon.machine_id !== null ? ` on ${s.holon.machine_id}` : ''}${s.holon.unit_name !== null ? ` as ${s.holon.unit_name}` : ''}`);
    }
    if (done(s)) return s;
    if (Date.now() > deadline) {
      const id = s.holon.holon_id ?? s.holon.request_digest;
      throw new CliFailure(`gave up waiting after ${timeoutMs} ms: the unit is still ${s.holon.state}; check again with holonctl show ${id}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
    s = await status(client, ctx, by);
  }
}

function printStatus(io: CliIo, s: ProvisionStatusV1, json: boolean): void {
  if (json) {
    writeLine(io.stdout, JSON.stringify(s, null, 2));
    return;
  }
  const h = s.holon;
  writeLine(io.stdout, `holon      ${h.holon_id ?? '(not issued yet)'}`);
  writeLine(io.stdout, `state      ${h.state} since ${new Date(h.since).toISOString()}`);
  writeLine(io.stdout, `role       ${h.role}`);
  writeLine(io.stdout, `machine    ${h.machine_id ?? '-'}`);
  writeLine(io.stdout, `unit       ${h.unit_name ?? '-'}`);
  writeLine(io.stdout, `tenant     ${h.tenant ?? '-'}`);
  writeLine(io.stdout, `request    ${h.request_digest}`);
  if (s.receipt !== undefined) writeLine(io.stdout, `receipt    certificate serial ${s.receipt.issued_certificate.serial}, valid until ${new Date(s.receipt.issued_certificate.not_after).toISOString()}`);
  if (s.destruction !== undefined) writeLine(io.stdout, `destroyed  ${new Date(s.destruction.destroyed_at.unix_ms).toISOString()} (basic teardown: evidence not replicated)`);
  if (s.usage !== undefined) printUsage(io, s.usage);
}

// --- provision -------------------------------------------------------------------------------------

const PROVISION_HELP = `holonctl provision — ask the cell for a new unit and wait for its receipt

usage: holonctl provision --role <ROLE> [options]

  --role <ROLE>          ${Object.keys(ROLE_TEMPLATES).join(', ')}
  --tenant <id>          tenant id = unit name = secret bucket (a DNS label)
  --os <linux|freebsd>   place only on this OS family (repeatable)
  --label <key=value>    place only on machines with this label (repeatable)
  --cpu-seconds <n>      budget (default 3600)
  --egress-bytes <n>     budget (default 1 GiB)
  --storage-bytes <n>    budget (default 10 GiB)
  --cost-cents <n>       budget (default 100)
  --budget <k=v,…>       the same in one option: cpu_seconds, gpu_seconds, egress_bytes, storage_bytes,
                         cost_usd_cents (e.g. --budget cpu_seconds=60,egress_bytes=1000000)
  --valid-for <dur>      budget and certificate window, e.g. 2h, 7d (default 1d)
  --on-exhaustion <p>    TEARDOWN (default), FREEZE or NOTIFY: what happens when a budget runs out
  --max-depth <n>        depth the unit may delegate further (default 4)
  --max-children <n>     children the unit may have (default 16)
  --nonce <b64url>       reuse a request nonce (re-sending the same request is idempotent)
  --no-wait              return once placed; do not wait for the receipt
  --timeout <dur>        how long to wait for the receipt (default 2m)
${BUS_HELP}

Roles: ${Object.values(ROLE_TEMPLATES).map((t) => `${t.role} (${t.summary})`).join('; ')}.`;

const BUDGET_KEYS = ['cpu_seconds', 'gpu_seconds', 'egress_bytes', 'storage_bytes', 'cost_usd_cents'] as const;

/** `--budget cpu_seconds=60,egress_bytes=1000000` → { cpu_seconds: 60, egress_bytes: 1000000 }. */
export function budgetPairs(v: string | undefined): Partial<Record<(typeof BUDGET_KEYS)[number], number>> {
  const out: Partial<Record<(typeof BUDGET_KEYS)[number], number>> = {};
  if (v === undefined) return out;
  for (const pair of v.split(',')) {
    const [k, n, ...rest] = pair.split('=');
    if (k === undefined || n === undefined || rest.length > 0 || !(BUDGET_KEYS as readonly string[]).includes(k)) {
      throw new UsageError(`--budget ${JSON.stringify(pair)}: expected key=number with key one of ${BUDGET_KEYS.join(', ')}`);
    }
    const key = k as (typeof BUDGET_KEYS)[number];
    if (out[key] !== undefined) throw new UsageError(`--budget gives ${key} twice`);
    out[key] = positiveInt(n, `budget ${key}`, 0);
  }
  return out;
}

async function runProvision(args: string[], io: CliIo, ports: CliPorts): Promise<number> {
  const { values } = parse(args, {
    role: { type: 'string' },
    tenant: { type: 'string' },
    os: { type: 'string', multiple: true },
    label: { type: 'string', multiple: true },
    'cpu-seconds': { type: 'string' },
    'egress-bytes': { type: 'string' },
    'storage-bytes': { type: 'string' },
    'cost-cents': { type: 'string' },
    budget: { type: 'string' },
    'valid-for': { type: 'string' },
    'on-exhaustion': { type: 'string' },
    'max-depth': { type: 'string' },
    'max-children': { type: 'string' },
    nonce: { type: 'string' },
    'no-wait': { type: 'boolean' },
    timeout: { type: 'string' },
  });
  const role = values.role;
  if (role === undefined) throw new UsageError('--role is required');
  if (!(HOLON_ROLES as readonly string[]).includes(role)) throw new UsageError(`--role ${role} is not a role (one of ${Object.keys(ROLE_TEMPLATES).join(', ')})`);
  const a = busArgs(values, io, ports);
  const ctx = await loadPrincipalContext(a.dir);
  const now = Date.now();
  const validUntil = now + parseDuration(values['valid-for'] ?? '1d', 'valid-for');
  const given = budgetPairs(values.budget);
  const pick = (key: (typeof BUDGET_KEYS)[number], flag: 'cpu-seconds' | 'storage-bytes' | 'egress-bytes' | 'cost-cents', dflt: number): number => {
    const g = given[key];
    if (g !== undefined && values[flag] !== undefined) throw new UsageError(`--budget ${key}= and --${flag} both given`);
    return g ?? positiveInt(values[flag], flag, dflt);
  };
  const budget = {
    compute_cpu_seconds: pick('cpu_seconds', 'cpu-seconds', 3600),
    compute_gpu_seconds: given.gpu_seconds ?? 0,
    storage_bytes: pick('storage_bytes', 'storage-bytes', 10 * 2 ** 30),
    network_egress_bytes: pick('egress_bytes', 'egress-bytes', 2 ** 30),
    cost_usd_cents: pick('cost_usd_cents', 'cost-cents', 100),
    valid_until: timeAt(validUntil),
    on_exhaustion: exhaustionPolicy(values['on-exhaustion']),
  };
  const manifest: CapabilityManifestV1 = {
    grants: [
      {
        action: '/',
        resource: '>',
        caps: {
          max_children: positiveInt(values['max-children'], 'max-children', 16),
          max_depth: positiveInt(values['max-depth'], 'max-depth', 4),
          rate_per_epoch: 1000,
          cpu_seconds: budget.compute_cpu_seconds,
          gpu_seconds: budget.compute_gpu_seconds,
          storage_bytes: budget.storage_bytes,
          egress_bytes: budget.network_egress_bytes,
          cost_usd_cents: budget.cost_usd_cents,
        },
        not_before: now - 60_000,
        not_after: validUntil,
      },
    ],
  };
  const labels = (values.label ?? []).map((l) => {
    const i = l.indexOf('=');
    if (i <= 0) throw new UsageError(`--label ${l}: expected key=value`);
    return { key: l.slice(0, i), value: l.slice(i + 1) };
  });
  labels.sort((x, y) => (x.key < y.key ? -1 : 1));
  const os = [...new Set(values.os ?? [])].sort((x, y) => (x === 'linux' ? -1 : y === 'linux' ? 1 : 0));
  const request = ProvisioningRequestV1.seal(
    {
      requesting_holon: convertId(ctx.principalKey, 'holon'),
      requested_role: role as HolonRole,
      requested_capabilities: manifest,
      resource_budget: budget,
      ...(values.tenant !== undefined ? { tenant: values.tenant } : {}),
      constraints: { ...(os.length > 0 ? { os: os as ('linux' | 'freebsd')[] } : {}), ...(labels.length > 0 ? { labels } : {}) },
      request_nonce: values.nonce ?? randomBytes(16).toString('base64url'),
      created_at: timeAt(now),
      expires_at: now + 15 * 60_000,
      delegation_chain: [],
    },
    ctx.principal,
  );
  const digest = ProvisioningRequestV1.digest(request);
  const client = await openCell(ports, a, ctx);
  try {
    writeLine(io.stderr, `holonctl: request ${digest}`);
    const placed = await client.request({ subject: API_SUBJECTS.provision, requestType: ProvisioningRequestV1, request, replyType: ProvisionStatusV1, responder: ctx.cellKey, timeoutMs: 30_000 });
    const final =
      values['no-wait'] === true
        ? placed
        : await waitFor(client, ctx, { request_digest: digest }, placed, (s) => s.receipt !== undefined || s.holon.state === 'REFUSED', parseDuration(values.timeout ?? '2m', 'timeout'), io);
    printStatus(io, final, values.json === true);
    return final.holon.state === 'REFUSED' ? EXIT_FAILURE : EXIT_OK;
  } finally {
    await client.close();
  }
}

// --- holons ----------------------------------------------------------------------------------------

const HOLONS_HELP = `holonctl holons — list the units of a cell

usage: holonctl holons [--all] [--json]

  --all            include destroyed units
${BUS_HELP}`;

export async function listHolons(client: CellClient, ctx: PrincipalContext, includeDestroyed: boolean): Promise<HolonRowV1[]> {
  const rows: HolonRowV1[] = [];
  for (let after: CasDigest | undefined; ; ) {
    const request = HolonListRequestV1.seal(
      { cell_id: ctx.cellId, ...(after !== undefined ? { after } : {}), limit: MAX_HOLONS_PER_PAGE, include_destroyed: includeDestroyed, request_nonce: nonce(), sent_at: timeAt(Date.now()) },
      ctx.principal,
    );
    const page = await client.request({ subject: API_SUBJECTS.holons, requestType: HolonListRequestV1, request, replyType: HolonListV1, responder: ctx.cellKey });
    rows.push(...page.holons);
    const last = page.holons[page.holons.length - 1];
    if (!page.more || last === undefined) return rows;
    after = last.request_digest;
  }
}

async function runHolons(args: string[], io: CliIo, ports: CliPorts): Promise<number> {
  const { values } = parse(args, { all: { type: 'boolean' } });
  const a = busArgs(values, io, ports);
  const ctx = await loadPrincipalContext(a.dir);
  const client = await openCell(ports, a, ctx);
  try {
    const rows = await listHolons(client, ctx, values.all === true);
    if (values.json === true) {
      writeLine(io.stdout, JSON.stringify({ cell_id: ctx.cellId, holons: rows }, null, 2));
      return EXIT_OK;
    }
    writeLine(io.stdout, `cell ${ctx.cellId}: ${rows.length} unit${rows.length === 1 ? '' : 's'}`);
    const head = ['HOLON', 'STATE', 'ROLE', 'UNIT', 'TENANT', 'MACHINE', 'SINCE'];
    const cells = rows.map((r) => [r.holon_id ?? '-', r.state, r.role, r.unit_name ?? '-', r.tenant ?? '-', r.machine_id ?? '-', new Date(r.since).toISOString()]);
    const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
    for (const c of [head, ...cells]) writeLine(io.stdout, c.map((v, i) => v.padEnd(widths[i] as number)).join('  ').trimEnd());
    return EXIT_OK;
  } finally {
    await client.close();
  }
}

// --- show ------------------------------------------------------------------------------------------

const SHOW_HELP = `holonctl show — one unit: state, machine, receipt

usage: holonctl show <holon1…|sha256:request digest> [--json]
${BUS_HELP}`;

async function runShow(args: string[], io: CliIo, ports: CliPorts): Promise<number> {
  const { values, positionals } = parse(args, {}, true);
  if (positionals.length > 1) throw new UsageError('one holon at a time');
  const by = target(positionals[0]);
  const a = busArgs(values, io, ports);
  const ctx = await loadPrincipalContext(a.dir);
  const client = await openCell(ports, a, ctx);
  try {
    printStatus(io, await status(client, ctx, by), values.json === true);
    return EXIT_OK;
  } finally {
    await client.close();
  }
}

// --- teardown --------------------------------------------------------------------------------------

const TEARDOWN_HELP = `holonctl teardown — stop and destroy a unit, wait for its destruction receipt

usage: holonctl teardown <holon1…> [--no-wait] [--timeout 2m] [--json]

This is the basic teardown: the unit is destroyed and a UnitDestructionReceiptV1
is issued; the evidence is not yet replicated to another cell (two-phase
teardown, DESIGN §8, comes later). Tearing down a destroyed unit again is a no-op.
${BUS_HELP}`;

async function runTeardown(args: string[], io: CliIo, ports: CliPorts): Promise<number> {
  const { values, positionals } = parse(args, { 'no-wait': { type: 'boolean' }, timeout: { type: 'string' } }, true);
  if (positionals.length !== 1) throw new UsageError('give exactly one holon id (holon1…)');
  const by = target(positionals[0]);
  if (!('holon_id' in by)) throw new UsageError('teardown takes a holon id (holon1…)');
  const a = busArgs(values, io, ports);
  const ctx = await loadPrincipalContext(a.dir);
  const request = TeardownRequestV1.seal(
    { holon_id: by.holon_id, reason: 'REQUESTED', evidence_replication_target: ctx.cellId, request_nonce: randomBytes(16).toString('base64url'), requested_at: timeAt(Date.now()) },
    ctx.principal,
  );
  const client = await openCell(ports, a, ctx);
  try {
    const first = await client.request({ subject: API_SUBJECTS.teardown, requestType: TeardownRequestV1, request, replyType: ProvisionStatusV1, responder: ctx.cellKey, timeoutMs: 30_000 });
    const final = values['no-wait'] === true ? first : await waitFor(client, ctx, by, first, (s) => s.destruction !== undefined, parseDuration(values.timeout ?? '2m', 'timeout'), io);
    printStatus(io, final, values.json === true);
    return EXIT_OK;
  } finally {
    await client.close();
  }
}

export const provisionCommand: Command = { name: 'provision', summary: 'ask the cell for a new unit and wait for its receipt', help: PROVISION_HELP, run: runProvision };
export const holonsCommand: Command = { name: 'holons', summary: 'list the units of a cell', help: HOLONS_HELP, run: runHolons };
export const showCommand: Command = { name: 'show', summary: 'one unit: state, machine, receipt', help: SHOW_HELP, run: runShow };
export const teardownCommand: Command = { name: 'teardown', summary: 'destroy a unit (basic teardown) and wait for its receipt', help: TEARDOWN_HELP, run: runTeardown };
