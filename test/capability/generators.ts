/**
 * Generators of realistic grants and manifests for the capability property
 * tests, plus an independent brute-force oracle. The alphabets are small on
 * purpose so that containment, coverage and refusals all actually happen.
 */
import fc from 'fast-check';
import type { CapabilityCapsV1, CapabilityGrantV1, CapabilityManifestV1 } from '../../bus-schemas/v1/capability-manifest.js';

export const TOKENS = ['a', 'b', 'c'] as const;
/** A token no generated pattern uses: stands for "any other token" in enumerations. */
export const FRESH_TOKEN = 'q';
export const SEGMENTS = ['x', 'y'] as const;
export const ACTIONS = ['/', '/x', '/y', '/x/x', '/x/y', '/y/x', '/x/x/y', '/xx'] as const;
export const TIMES = [0, 10, 20, 30, 40] as const;

export const arbToken = fc.constantFrom<string>(...TOKENS, '*');

/** A well-formed subject pattern of 1–3 tokens over TOKENS, `*` and a trailing `>`. */
export const arbPattern: fc.Arbitrary<string> = fc
  .tuple(fc.array(arbToken, { minLength: 0, maxLength: 3 }), fc.boolean())
  .filter(([tokens, gt]) => tokens.length > 0 || gt)
  .map(([tokens, gt]) => (gt ? [...tokens, '>'] : tokens).join('.'));

export const arbAction = fc.constantFrom<string>(...ACTIONS);

export function arbCaps(maxDepth = 4): fc.Arbitrary<CapabilityCapsV1> {
  const small = fc.integer({ min: 0, max: 3 });
  return fc.record({
    max_children: small,
    max_depth: fc.integer({ min: 0, max: maxDepth }),
    rate_per_epoch: small,
    cpu_seconds: small,
    gpu_seconds: small,
    storage_bytes: small,
    egress_bytes: small,
    cost_usd_cents: small,
  });
}

export function arbGrant(maxDepth = 4): fc.Arbitrary<CapabilityGrantV1> {
  return fc
    .record({
      action: arbAction,
      resource: arbPattern,
      caps: arbCaps(maxDepth),
      t1: fc.constantFrom(...TIMES),
      t2: fc.constantFrom(...TIMES),
    })
    .map(({ action, resource, caps, t1, t2 }) => ({
      action,
      resource,
      caps,
      not_before: Math.min(t1, t2),
      not_after: Math.max(t1, t2),
    }));
}

export function arbManifest(maxGrants = 4, maxDepth = 4): fc.Arbitrary<CapabilityManifestV1> {
  return fc.array(arbGrant(maxDepth), { minLength: 0, maxLength: maxGrants }).map((grants) => ({ grants }));
}

/** A small deterministic PRNG so derived grants are reproducible from a fast-check seed. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)] as T;
  }
}

/** A pattern whose subjects all match `pattern` (specialize wildcards). */
export function specializePattern(pattern: string, rng: Rng): string {
  const out: string[] = [];
  for (const tok of pattern.split('.')) {
    if (tok === '*') out.push(rng.chance(0.5) ? rng.pick(TOKENS) : '*');
    else if (tok === '>') {
      const extra = rng.int(1, 2);
      for (let i = 0; i < extra; i++) out.push(rng.chance(0.6) ? rng.pick(TOKENS) : '*');
      if (rng.chance(0.5)) out.push('>');
    } else out.push(tok);
  }
  return out.join('.');
}

/** A grant covered by `p` with max_depth ≤ p.max_depth − margin (requires p.max_depth ≥ margin). */
export function narrowGrant(p: CapabilityGrantV1, rng: Rng, margin: number): CapabilityGrantV1 {
  const caps = { ...p.caps };
  for (const k of Object.keys(caps) as (keyof CapabilityCapsV1)[]) {
    const top = k === 'max_depth' ? p.caps.max_depth - margin : p.caps[k];
    caps[k] = rng.chance(0.5) ? top : rng.int(0, top);
  }
  const action = rng.chance(0.6) ? p.action : `${p.action === '/' ? '' : p.action}/${rng.pick(SEGMENTS)}`;
  const a = rng.int(p.not_before, p.not_after);
  const b = rng.int(p.not_before, p.not_after);
  const keepWindow = rng.chance(0.5);
  return {
    action,
    resource: rng.chance(0.4) ? p.resource : specializePattern(p.resource, rng),
    caps,
    not_before: keepWindow ? p.not_before : Math.min(a, b),
    not_after: keepWindow ? p.not_after : Math.max(a, b),
  };
}

/** The same grant made wider in one random way (it may still be covered by some other grant). */
export function widenGrant(g: CapabilityGrantV1, rng: Rng): CapabilityGrantV1 {
  const w = structuredClone(g);
  switch (rng.int(0, 4)) {
    case 0: {
      const k = rng.pick(Object.keys(w.caps) as (keyof CapabilityCapsV1)[]);
      w.caps[k] += rng.int(1, 2);
      break;
    }
    case 1:
      w.not_before = Math.max(0, w.not_before - rng.int(1, 10));
      break;
    case 2:
      w.not_after += rng.int(1, 10);
      break;
    case 3: {
      const toks = w.resource.split('.');
      const i = rng.int(0, toks.length - 1);
      toks[i] = i === toks.length - 1 && rng.chance(0.5) ? '>' : toks[i] === '>' ? '>' : '*';
      w.resource = toks.join('.');
      break;
    }
    default:
      w.action = w.action.includes('/', 1) ? w.action.slice(0, w.action.lastIndexOf('/')) : '/';
  }
  return w;
}

// ---- independent oracle: brute force over concrete subjects, no containment logic ----

/** Direct NATS matching of one concrete subject. */
export function bruteMatch(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return s.length === p.length;
}

/** Every subject of 1…maxLength tokens over `alphabet`. */
export function enumerateSubjects(alphabet: readonly string[], maxLength: number): string[] {
  const out: string[] = [];
  let layer: string[] = [...alphabet];
  for (let len = 1; len <= maxLength; len++) {
    out.push(...layer);
    layer = layer.flatMap((s) => alphabet.map((t) => `${s}.${t}`));
  }
  return out;
}

export function bruteActionCovers(outer: string, inner: string): boolean {
  if (outer === '/') return true;
  const o = outer.split('/');
  const i = inner.split('/');
  return o.length <= i.length && o.every((seg, k) => seg === i[k]);
}

/** Whether some grant of `m` permits `action` on the concrete `subject` at `now`, by brute force. */
export function brutePermits(m: CapabilityManifestV1, action: string, subject: string, now: number): boolean {
  return m.grants.some(
    (g) => g.not_before <= now && now <= g.not_after && bruteActionCovers(g.action, action) && bruteMatch(g.resource, subject),
  );
}
