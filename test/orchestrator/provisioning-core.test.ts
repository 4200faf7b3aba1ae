/**
 * The provisioning lifecycle with in-memory ports (no bus, no SQLite): every
 * step and refusal of the service, the quotas that only shrink down the tree,
 * and the reducer's determinism — the ledger entries the service wrote,
 * replayed through applyProvisionEvent, give exactly the records it stored.
 */
import t from 'tap';
import type { CasDigest } from '../../bus-schemas/digest.js';
import { encodeId } from '../../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed } from '../../bus-schemas/keys.js';
import type { CapabilityManifestV1 } from '../../bus-schemas/v1/capability-manifest.js';
import { ProvisioningRequestV1 } from '../../bus-schemas/v1/provisioning-request.js';
import { TeardownRequestV1 } from '../../bus-schemas/v1/teardown-request.js';
import { timeAt } from '../../bus-schemas/v1/time-envelope.js';
import { applyProvisionEvent, isProvisionEventKind, parseProvisionEvent } from '../../orchestrator/provisioning/provision-events.js';
import type { ProvisionRecord } from '../../orchestrator/provisioning/provision-store.js';
import { refusesAsync } from '../helpers/refuses.js';

import { HOUR, clock, commands, ledger, machineId, manifest, principal, report, request, service, store, subject } from './provisioning-fixture.js';

void t.test('a unit from request to destruction, every step once', async (t) => {
  const req = request(principal);
  const digest = ProvisioningRequestV1.digest(req);
  const placed = await service.provision(req);
  t.match(placed.holon, { state: 'PLACED', machine_id: machineId, request_digest: digest });
  t.equal(commands.at(-1)?.op, 'provision', 'the agent got its command');
  t.same((await service.provision(req)).holon, placed.holon, 'a re-sent request: the same answer, no second step');
  await refusesAsync(t, () => service.provision(request(principal, { request_nonce: req.request_nonce, requested_role: 'BUILD_WORKER' })), { code: 'HOLON_E_REPLAY', path: '.request_nonce' }, 'the nonce again with another body');
  const unit = placed.holon.unit_name as string;
  const holon = signerFromSeed(generateEd25519().seed);
  await refusesAsync(t, () => service.unitReport(report(digest, unit, holon, signerFromSeed(generateEd25519().seed)), subject, machineId), { code: 'HOLON_E_HOLON_KEY_PROOF' });
  await refusesAsync(t, () => service.unitReport(report(digest, unit, holon), `holon.${encodeId('holon', holon.publicKey)}.unit`, machineId), { code: 'HOLON_E_UNIT_REPORT' }, 'wrong subject');
  const ok = await service.unitReport(report(digest, unit, holon), subject, machineId);
  t.equal(ok.receipt?.assigned_holon_id, encodeId('holon', holon.publicKey), 'receipt issued');
  t.same((await service.unitReport(report(digest, unit, holon), subject, machineId)).receipt, ok.receipt, 'reported again: the same receipt');

  // A second provisioning claiming the same holon id: refused and recorded.
  const second = await service.provision(request(principal));
  await refusesAsync(t, () => service.unitReport(report(second.holon.request_digest, second.holon.unit_name as string, holon), subject, machineId), { code: 'HOLON_E_HOLON_ID_TAKEN' });
  t.equal(ledger.filter((e) => e.kind === 'SECURITY_HOLON_ID_CLAIM_REFUSED').length, 1, 'the second claim is in the ledger');

  const holonId = encodeId('holon', holon.publicKey);
  const td = TeardownRequestV1.seal({ holon_id: holonId, reason: 'REQUESTED', requested_at: timeAt(clock.now()) } as never, principal);
  const down = await service.teardown(td);
  t.equal(down.holon.state, 'TEARDOWN');
  t.equal(commands.at(-1)?.op, 'destroy', 'the agent got its destroy command');
  const gone = await service.unitReport(report(TeardownRequestV1.digest(td), unit, holon, holon, 'DESTROYED'), subject, machineId);
  t.equal(gone.destruction?.holon_id, holonId, 'destruction receipt');
  t.equal(store.get(digest)?.state, 'DESTROYED');
});

void t.test('quotas and budgets only shrink down the tree', async (t) => {
  const parentKey = signerFromSeed(generateEd25519().seed);
  const req = request(principal, { requested_capabilities: manifest({ rate_per_epoch: 1, max_children: 2 }) });
  const placed = await service.provision(req);
  await service.unitReport(report(placed.holon.request_digest, placed.holon.unit_name as string, parentKey), subject, machineId);
  const child = (over: Partial<CapabilityManifestV1['grants'][number]['caps']> = {}): ProvisioningRequestV1 =>
    request(parentKey, { requested_capabilities: manifest({ rate_per_epoch: 1, max_children: 1, cpu_seconds: 100, ...over }, 2), resource_budget: { ...req.resource_budget, compute_cpu_seconds: 100 } });
  await refusesAsync(t, () => service.provision(child({ rate_per_epoch: 2 })), { code: 'HOLON_E_CAP_AMPLIFICATION' }, 'a child may not hold a larger quota');
  t.equal((await service.provision(child())).holon.state, 'PLACED', 'the first child this epoch');
  await refusesAsync(t, () => service.provision(child()), { code: 'HOLON_E_QUOTA_EXCEEDED', path: '.requested_capabilities' }, 'rate_per_epoch 1: the second is refused');
  clock.advance(HOUR);
  await refusesAsync(t, () => service.provision(request(parentKey, { requested_capabilities: manifest({ rate_per_epoch: 1, max_children: 1, cpu_seconds: 600 }, 2), resource_budget: { ...req.resource_budget, compute_cpu_seconds: 600, valid_until: timeAt(clock.now() + HOUR) } })), { code: 'HOLON_E_BUDGET_EXCEEDED', path: '.resource_budget.compute_cpu_seconds' }, 'next epoch: the quota allows it, the budget left (500 of 600) does not');
});

void t.test('the ledger alone rebuilds the records: same events, same records', async (t) => {
  const rebuilt = new Map<string, ProvisionRecord>();
  for (const e of ledger) {
    if (!isProvisionEventKind(e.kind)) continue;
    const ev = parseProvisionEvent(e.kind, e.body);
    rebuilt.set(ev.request_digest, applyProvisionEvent(rebuilt.get(ev.request_digest), ev, e.at));
  }
  t.equal(rebuilt.size, store.count(), 'every provisioning');
  for (const [digest, rec] of rebuilt) t.same(rec, store.get(digest as CasDigest), `${digest.slice(0, 19)}… identical`);
});
