/**
 * RFC 8785 (JCS) canonical JSON, in one validating pass.
 *
 * For the values we accept, JCS is exactly: object keys sorted by UTF-16
 * code units, no whitespace, strings and numbers as ECMAScript
 * JSON.stringify writes them. We encode that directly rather than through the
 * `canonicalize` package because this sits under every seal and digest and
 * the fused pass is about twice as fast; the tests cross-check both on random
 * values so the two cannot drift.
 *
 * Only plain JSON values are accepted: a value that JSON cannot carry exactly
 * (undefined, NaN, ±Infinity, integers beyond 2^53−1, functions, bigint,
 * class instances) is refused with a MalformedError instead of being altered,
 * and so is a string or key with a lone surrogate (RFC 8785 §3.2.2.2: it has
 * no UTF-8 form).
 * The fast pass tracks no JSON path; only when it refuses does a second pass
 * walk the value to name where.
 */
import { MalformedError } from './errors.js';
import { isWellFormed, keyPath, loneSurrogateReason } from './strict-json.js';

const encoder = new TextEncoder();

export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalString(value));
}

export function canonicalString(value: unknown): string {
  const out = encode(value);
  if (out === undefined) locateProblem(value, '$');
  return out as string;
}

/** The canonical text, or undefined if some part has no exact JSON form. */
function encode(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return isWellFormed(value) ? JSON.stringify(value) : undefined;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value))) return undefined;
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          const item = encode(value[i]);
          if (item === undefined) return undefined;
          out += i > 0 ? `,${item}` : item;
        }
        return `${out}]`;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) return undefined;
      const rec = value as Record<string, unknown>;
      const keys = Object.keys(rec).sort();
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        const v = encode(rec[k]);
        if (v === undefined || !isWellFormed(k)) return undefined;
        out += `${i > 0 ? ',' : ''}${JSON.stringify(k)}:${v}`;
      }
      return `${out}}`;
    }
    default:
      return undefined;
  }
}

/** Slow path: find the first part without an exact JSON form and throw naming it. */
function locateProblem(value: unknown, path: string): void {
  switch (typeof value) {
    case 'string': {
      const reason = loneSurrogateReason(value, 'string');
      if (reason !== undefined) throw new MalformedError(path, reason);
      return;
    }
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new MalformedError(path, 'non-finite number');
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) throw new MalformedError(path, 'integer outside the safe range');
      return;
    case 'object': {
      if (value === null) return;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) locateProblem(value[i], `${path}[${i}]`);
        return;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new MalformedError(path, 'not a plain object');
      for (const k of Object.keys(value).sort()) {
        const v = (value as Record<string, unknown>)[k];
        const at = keyPath(path, k);
        const reason = loneSurrogateReason(k, 'key');
        if (reason !== undefined) throw new MalformedError(at, reason);
        if (v === undefined) throw new MalformedError(at, 'undefined has no JSON form');
        locateProblem(v, at);
      }
      return;
    }
    default:
      throw new MalformedError(path, `${typeof value} has no JSON form`);
  }
}
