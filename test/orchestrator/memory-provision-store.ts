/**
 * An in-memory ProvisionStore for the fast core tests: the same port the
 * SQLite adapter implements, over Maps. Records are deep-copied in and out,
 * as a database would, so a test cannot pass by sharing objects.
 */
import type { CasDigest } from '../../bus-schemas/digest.js';
import type { HolonIdV1, PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import type { ProvisionState } from '../../bus-schemas/v1/unit-flow.js';
import type { ProvisionOutboxEntry, ProvisionRecord, ProvisionStep, ProvisionStore } from '../../orchestrator/provisioning/provision-store.js';

const copy = <T>(v: T): T => structuredClone(v);
const live = (r: ProvisionRecord): boolean => r.state !== 'DESTROYED' && r.state !== 'REFUSED';

export class MemoryProvisionStore implements ProvisionStore {
  readonly records = new Map<string, ProvisionRecord>();
  outbox: ProvisionOutboxEntry[] = [];
  commits = 0;

  #all(): ProvisionRecord[] {
    return [...this.records.values()].sort((a, b) => (a.requestDigest < b.requestDigest ? -1 : 1));
  }
  get(d: CasDigest): ProvisionRecord | undefined {
    const r = this.records.get(d);
    return r === undefined ? undefined : copy(r);
  }
  byHolon(h: HolonIdV1): ProvisionRecord | undefined {
    const r = this.#all().find((x) => x.holonId === h);
    return r === undefined ? undefined : copy(r);
  }
  byNonce(requester: HolonIdV1, nonce: string): ProvisionRecord | undefined {
    const r = this.#all().find((x) => x.requester === requester && x.nonce === nonce);
    return r === undefined ? undefined : copy(r);
  }
  list(o: { after?: string; limit: number; requester?: HolonIdV1; includeDestroyed: boolean }): ProvisionRecord[] {
    return this.#all()
      .filter((r) => r.requestDigest > (o.after ?? '') && (o.requester === undefined || r.requester === o.requester) && (o.includeDestroyed || r.state !== 'DESTROYED'))
      .slice(0, o.limit)
      .map(copy);
  }
  usageOn(m: PublicKeyIdV1): { units: number; memoryBytes: number } {
    const on = this.#all().filter((r) => r.machineId === m && live(r));
    return { units: on.length, memoryBytes: on.reduce((s, r) => s + r.memoryBytes, 0) };
  }
  inStates(states: readonly ProvisionState[]): ProvisionRecord[] {
    return this.#all().filter((r) => states.includes(r.state)).map(copy);
  }
  activeChildren(requester: HolonIdV1): ProvisionRecord[] {
    return this.#all().filter((r) => r.requester === requester && live(r)).map(copy);
  }
  countActiveChildren(requester: HolonIdV1): number {
    return this.activeChildren(requester).length;
  }
  countPlacedSince(requester: HolonIdV1, since: number): number {
    return this.#all().filter((r) => r.requester === requester && r.placedAt >= since).length;
  }
  activeByUnit(unitName: string): ProvisionRecord | undefined {
    const r = this.#all().find((x) => x.unitName === unitName && live(x));
    return r === undefined ? undefined : copy(r);
  }
  commit(step: ProvisionStep): void {
    this.records.set(step.record.requestDigest, copy(step.record));
    for (const o of step.outbox ?? []) if (!this.outbox.some((x) => x.id === o.id)) this.outbox.push(copy(o));
    this.commits += 1;
  }
  pendingOutbox(): ProvisionOutboxEntry[] {
    return this.outbox.map(copy);
  }
  removeOutbox(id: string): void {
    this.outbox = this.outbox.filter((o) => o.id !== id);
  }
  count(): number {
    return this.records.size;
  }
  readonly meta = new Map<string, string>();
  getMeta(key: string): string | undefined {
    return this.meta.get(key);
  }
  setMeta(key: string, value: string): void {
    this.meta.set(key, value);
  }
  clear(): void {
    this.records.clear();
    this.outbox = [];
  }
  close(): void {}
}
