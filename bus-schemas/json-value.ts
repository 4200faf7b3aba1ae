/**
 * A schema for an arbitrary JSON value with every dimension bounded: nesting
 * depth, keys per object, items per array, string (and key) length, and the
 * total number of nodes. Used where a protocol object carries free-form data
 * (ledger entry bodies) that must still be safe to parse, canonicalize, store
 * and print.
 *
 * Only values JCS (RFC 8785) can carry exactly are accepted: finite numbers,
 * integers within ±(2^53−1). The key `__proto__` is refused so a parsed value
 * can never carry a prototype-shaped key into code that copies objects.
 */
import { MalformedError } from './errors.js';
import type { Schema } from './schema.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface JsonValueLimits {
  /** Deepest nesting of arrays/objects; a scalar has depth 0. */
  maxDepth: number;
  /** Most keys in any one object. */
  maxKeys: number;
  /** Most items in any one array. */
  maxItems: number;
  /** Longest string value or key, in UTF-16 code units. */
  maxStringLength: number;
  /** Most nodes (scalars, arrays, objects) in the whole value. */
  maxNodes: number;
  description?: string;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Path segment for a key: `.key` for identifiers, `["…"]` otherwise, so paths stay unambiguous. */
function keyPath(path: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

export function jsonValue(limits: JsonValueLimits): Schema<JsonValue> {
  for (const k of ['maxDepth', 'maxKeys', 'maxItems', 'maxStringLength', 'maxNodes'] as const) {
    if (!Number.isSafeInteger(limits[k]) || limits[k] < 0) throw new RangeError(`jsonValue: ${k} must be a non-negative integer`);
  }
  return {
    parseAt(input, path) {
      const budget = { nodes: 0 };
      return parseNode(input, path, 0, limits, budget);
    },
    jsonSchema() {
      return {
        description:
          limits.description ??
          `any JSON value: depth ≤ ${limits.maxDepth}, ≤ ${limits.maxKeys} keys per object, ` +
            `≤ ${limits.maxItems} items per array, strings ≤ ${limits.maxStringLength}, ≤ ${limits.maxNodes} nodes`,
      };
    },
  };
}

function parseNode(input: unknown, path: string, depth: number, l: JsonValueLimits, budget: { nodes: number }): JsonValue {
  budget.nodes += 1;
  if (budget.nodes > l.maxNodes) throw new MalformedError(path, `value has more than ${l.maxNodes} nodes`);
  switch (typeof input) {
    case 'string':
      if (input.length > l.maxStringLength) throw new MalformedError(path, `string longer than ${l.maxStringLength}`);
      return input;
    case 'boolean':
      return input;
    case 'number':
      if (!Number.isFinite(input)) throw new MalformedError(path, 'expected a finite number');
      if (Number.isInteger(input) && !Number.isSafeInteger(input)) throw new MalformedError(path, 'integer outside the safe range');
      return input;
    case 'object': {
      if (input === null) return null;
      if (depth >= l.maxDepth) throw new MalformedError(path, `nested deeper than ${l.maxDepth}`);
      if (Array.isArray(input)) {
        if (input.length > l.maxItems) throw new MalformedError(path, `array longer than ${l.maxItems}`);
        const out: JsonValue[] = new Array<JsonValue>(input.length);
        for (let i = 0; i < input.length; i++) out[i] = parseNode(input[i] as unknown, `${path}[${i}]`, depth + 1, l, budget);
        return out;
      }
      const proto = Object.getPrototypeOf(input) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new MalformedError(path, 'expected a plain object');
      const keys = Object.keys(input);
      if (keys.length > l.maxKeys) throw new MalformedError(path, `object has more than ${l.maxKeys} keys`);
      const out: { [key: string]: JsonValue } = {};
      const rec = input as Record<string, unknown>;
      for (const k of keys) {
        const p = keyPath(path, k);
        if (k === '__proto__') throw new MalformedError(p, 'key "__proto__" is not allowed');
        if (k.length > l.maxStringLength) throw new MalformedError(p, `key longer than ${l.maxStringLength}`);
        out[k] = parseNode(rec[k], p, depth + 1, l, budget);
      }
      return out;
    }
    default:
      throw new MalformedError(path, `expected a JSON value, got ${describe(input)}`);
  }
}
