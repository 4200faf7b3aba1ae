/**
 * Strict schema combinators: one definition gives the TypeScript type, a
 * parser that refuses anything unexpected (naming the JSON path and the
 * reason), and the JSON Schema published for clients in other languages.
 *
 * Parsers never coerce: a string is never a number, a missing field is never
 * `null`, an unknown field is always an error. Output objects are built fresh,
 * so `__proto__` and friends from the input never reach our code.
 */
import { MalformedError } from './errors.js';

export type JsonSchema = { [key: string]: unknown };

export interface Schema<T> {
  /** Parse `input` found at JSON path `path`; throws MalformedError. */
  parseAt(input: unknown, path: string): T;
  jsonSchema(): JsonSchema;
}

export interface OptionalSchema<T> extends Schema<T> {
  readonly optional: true;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

type Shape = { [key: string]: Schema<unknown> };
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type RequiredKeys<S extends Shape> = { [K in keyof S]: S[K] extends OptionalSchema<unknown> ? never : K }[keyof S];
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends OptionalSchema<unknown> ? K : never }[keyof S];
export type InferShape<S extends Shape> = Simplify<
  { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> }
>;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function fail(path: string, reason: string): never {
  throw new MalformedError(path, reason);
}

export interface StringOptions {
  /** Minimum length in UTF-16 code units (default 0). */
  min?: number;
  /** Maximum length in UTF-16 code units; always required so nothing is unbounded. */
  max: number;
  pattern?: RegExp;
  /** Human text for the pattern, used in refusals ("expected <format>"). */
  format?: string;
  description?: string;
}

export function string(opts: StringOptions): Schema<string> {
  const min = opts.min ?? 0;
  return {
    parseAt(input, path) {
      if (typeof input !== 'string') fail(path, `expected string, got ${describe(input)}`);
      if (input.length < min) fail(path, `string shorter than ${min}`);
      if (input.length > opts.max) fail(path, `string longer than ${opts.max}`);
      if (opts.pattern && !opts.pattern.test(input)) {
        fail(path, `expected ${opts.format ?? `a string matching ${opts.pattern.source}`}`);
      }
      return input;
    },
    jsonSchema() {
      const s: JsonSchema = { type: 'string', maxLength: opts.max };
      if (min > 0) s.minLength = min;
      if (opts.pattern) s.pattern = opts.pattern.source;
      if (opts.description ?? opts.format) s.description = opts.description ?? opts.format;
      return s;
    },
  };
}

export interface IntegerOptions {
  min?: number;
  max?: number;
  description?: string;
}

/** A safe integer (|n| ≤ 2^53−1) within [min, max]; default min 0. */
export function integer(opts: IntegerOptions = {}): Schema<number> {
  const min = opts.min ?? 0;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  return {
    parseAt(input, path) {
      if (typeof input !== 'number') fail(path, `expected integer, got ${describe(input)}`);
      if (!Number.isSafeInteger(input)) fail(path, 'expected a safe integer');
      if (input < min) fail(path, `integer below minimum ${min}`);
      if (input > max) fail(path, `integer above maximum ${max}`);
      return input;
    },
    jsonSchema() {
      const s: JsonSchema = { type: 'integer', minimum: min, maximum: max };
      if (opts.description) s.description = opts.description;
      return s;
    },
  };
}

/** A finite IEEE double within [min, max] (coordinates, milliseconds, ratios). */
export function finite(opts: { min: number; max: number; description?: string }): Schema<number> {
  return {
    parseAt(input, path) {
      if (typeof input !== 'number') fail(path, `expected number, got ${describe(input)}`);
      if (!Number.isFinite(input)) fail(path, 'expected a finite number');
      if (input < opts.min) fail(path, `number below minimum ${opts.min}`);
      if (input > opts.max) fail(path, `number above maximum ${opts.max}`);
      return input;
    },
    jsonSchema() {
      const s: JsonSchema = { type: 'number', minimum: opts.min, maximum: opts.max };
      if (opts.description) s.description = opts.description;
      return s;
    },
  };
}

export function boolean(): Schema<boolean> {
  return {
    parseAt(input, path) {
      if (typeof input !== 'boolean') fail(path, `expected boolean, got ${describe(input)}`);
      return input;
    },
    jsonSchema: () => ({ type: 'boolean' }),
  };
}

export function literal<const T extends string | number | boolean>(value: T): Schema<T> {
  return {
    parseAt(input, path) {
      if (input !== value) fail(path, `expected ${JSON.stringify(value)}`);
      return value;
    },
    jsonSchema: () => ({ const: value }),
  };
}

export function enumeration<const T extends readonly string[]>(values: T, description?: string): Schema<T[number]> {
  const set = new Set<string>(values);
  return {
    parseAt(input, path) {
      if (typeof input !== 'string') fail(path, `expected string, got ${describe(input)}`);
      if (!set.has(input)) fail(path, `expected one of ${values.join(', ')}`);
      return input;
    },
    jsonSchema() {
      const s: JsonSchema = { type: 'string', enum: [...values] };
      if (description) s.description = description;
      return s;
    },
  };
}

export function array<T>(item: Schema<T>, opts: { min?: number; max: number }): Schema<T[]> {
  const min = opts.min ?? 0;
  return {
    parseAt(input, path) {
      if (!Array.isArray(input)) fail(path, `expected array, got ${describe(input)}`);
      if (input.length < min) fail(path, `array shorter than ${min}`);
      if (input.length > opts.max) fail(path, `array longer than ${opts.max}`);
      const out: T[] = new Array<T>(input.length);
      for (let i = 0; i < input.length; i++) out[i] = item.parseAt(input[i], `${path}[${i}]`);
      return out;
    },
    jsonSchema() {
      const s: JsonSchema = { type: 'array', items: item.jsonSchema(), maxItems: opts.max };
      if (min > 0) s.minItems = min;
      return s;
    },
  };
}

/** Marks an object field as optional: absent is fine, `null` is still refused. */
export function optional<T>(inner: Schema<T>): OptionalSchema<T> {
  return { optional: true, parseAt: (i, p) => inner.parseAt(i, p), jsonSchema: () => inner.jsonSchema() };
}

/** Allows `null` as well as the inner value (the field itself stays required). */
export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return {
    parseAt: (input, path) => (input === null ? null : inner.parseAt(input, path)),
    jsonSchema: () => ({ anyOf: [inner.jsonSchema(), { type: 'null' }] }),
  };
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** A closed object: every field declared, unknown fields refused. */
export function object<S extends Shape>(shape: S, description?: string): Schema<InferShape<S>> & { shape: S } {
  const keys = Object.keys(shape);
  const known = new Set(keys);
  return {
    shape,
    parseAt(input, path) {
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        fail(path, `expected object, got ${describe(input)}`);
      }
      const rec = input as Record<string, unknown>;
      for (const k of Object.keys(rec)) {
        if (!known.has(k)) fail(`${path}.${k}`, 'unknown field');
      }
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const field = shape[k] as Schema<unknown>;
        if (!hasOwn(rec, k)) {
          if ((field as Partial<OptionalSchema<unknown>>).optional) continue;
          fail(`${path}.${k}`, 'required field missing');
        }
        out[k] = field.parseAt(rec[k], `${path}.${k}`);
      }
      return out as InferShape<S>;
    },
    jsonSchema() {
      const properties: JsonSchema = {};
      const required: string[] = [];
      for (const k of keys) {
        const field = shape[k] as Schema<unknown>;
        properties[k] = field.jsonSchema();
        if (!(field as Partial<OptionalSchema<unknown>>).optional) required.push(k);
      }
      const s: JsonSchema = { type: 'object', properties, required, additionalProperties: false };
      if (description) s.description = description;
      return s;
    },
  };
}

/**
 * A discriminated union of closed objects keyed by a string field
 * (e.g. `kind`). The refusal for an unknown tag names the tag field.
 */
export function tagged<K extends string, V extends { [tag: string]: Schema<unknown> }>(
  key: K,
  variants: V,
): Schema<Infer<V[keyof V]>> {
  const tags = Object.keys(variants);
  return {
    parseAt(input, path) {
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        fail(path, `expected object, got ${describe(input)}`);
      }
      const tag = (input as Record<string, unknown>)[key];
      if (typeof tag !== 'string' || !hasOwn(variants, tag)) {
        fail(`${path}.${key}`, `expected one of ${tags.join(', ')}`);
      }
      return (variants[tag] as Schema<unknown>).parseAt(input, path) as Infer<V[keyof V]>;
    },
    jsonSchema: () => ({ oneOf: tags.map((t) => (variants[t] as Schema<unknown>).jsonSchema()) }),
  };
}

/**
 * Adds a semantic check after structural parsing. `check` returns a reason
 * string to refuse (optionally with a sub-path), or undefined to accept.
 */
export function refine<T>(
  inner: Schema<T>,
  check: (value: T) => string | { path: string; reason: string } | undefined,
  description?: string,
): Schema<T> {
  return {
    parseAt(input, path) {
      const value = inner.parseAt(input, path);
      const problem = check(value);
      if (problem === undefined) return value;
      if (typeof problem === 'string') fail(path, problem);
      fail(`${path}${problem.path}`, problem.reason);
    },
    jsonSchema() {
      const s = inner.jsonSchema();
      return description ? { ...s, description } : s;
    },
  };
}

/** Late binding for recursive shapes. */
export function lazy<T>(get: () => Schema<T>, name: string): Schema<T> {
  return {
    parseAt: (input, path) => get().parseAt(input, path),
    jsonSchema: () => ({ $ref: `#/$defs/${name}` }),
  };
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Binary data as unpadded base64url, bounded by decoded byte length. */
export function base64url(opts: { minBytes?: number; maxBytes: number; description?: string }): Schema<string> {
  const minBytes = opts.minBytes ?? 0;
  const maxChars = Math.ceil((opts.maxBytes * 4) / 3);
  return {
    parseAt(input, path) {
      if (typeof input !== 'string') fail(path, `expected base64url string, got ${describe(input)}`);
      if (input.length > maxChars) fail(path, `longer than ${opts.maxBytes} bytes`);
      if (!BASE64URL.test(input) || input.length % 4 === 1) fail(path, 'expected unpadded base64url');
      const bytes = Math.floor((input.length * 3) / 4);
      if (bytes < minBytes) fail(path, `shorter than ${minBytes} bytes`);
      if (bytes > opts.maxBytes) fail(path, `longer than ${opts.maxBytes} bytes`);
      // Reject non-canonical encodings (stray low bits in the last character).
      if (Buffer.from(input, 'base64url').toString('base64url') !== input) fail(path, 'non-canonical base64url');
      return input;
    },
    jsonSchema() {
      const s: JsonSchema = {
        type: 'string',
        contentEncoding: 'base64url',
        pattern: BASE64URL.source,
        maxLength: maxChars,
      };
      if (opts.description) s.description = opts.description;
      return s;
    },
  };
}
