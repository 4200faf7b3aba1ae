/**
 * Strict JSON text (RFC 7493 I-JSON, as RFC 8785 requires of its input):
 * JSON.parse, then refuse what JSON.parse lets through —
 *
 * - an object with a duplicate member name, compared after unescaping
 *   (`"a"` and `"\u0061"` are the same name). JSON.parse keeps the last
 *   value; a parser that keeps the first would read a different message than
 *   the one that was sealed.
 * - a string, value or member name, holding a lone surrogate after
 *   unescaping (`"\ud800"`, a high surrogate not followed by a low one). It
 *   has no UTF-8 form, and RFC 8785 cannot encode it.
 *
 * JSON.parse runs first, so a syntax error is reported as it always was.
 * Then, without looking inside strings unless they may hold a lone surrogate:
 *
 * - duplicates: every member has exactly one separator colon, and it is the
 *   first non-blank character after the closing quote of its name. So the
 *   colons in the text that follow a quote (and blanks) number the members
 *   M plus some colons inside strings U ≥ 0. The parsed value has M minus
 *   one member per overwritten duplicate. Equal counts mean U = 0 and no
 *   duplicate. (One native indexOf per colon, one for-in walk of the value.)
 * - lone surrogates: a text that is well-formed UTF-16 (always so for bytes:
 *   they come through a fatal UTF-8 decoder) and has no `\uD800`–`\uDFFF`
 *   escape has none in any string. Otherwise the same walk asks each string
 *   and name of the value (with no duplicate, every string of the text is
 *   one of them).
 *
 * When the counts differ, the walk finds a lone surrogate, or the value is
 * nested too deep to walk recursively, one scan of the text decides and names
 * the first problem: it jumps from quote to quote with indexOf, keeps each
 * open object's member names and the path to where it is, and unescapes a
 * string only when it holds an escape.
 */
import { MalformedError } from './errors.js';

// String.prototype.isWellFormed is ES2024 (V8 11.1, Node 20); tsconfig's lib is ES2023.
const nativeIsWellFormed = (String.prototype as unknown as { isWellFormed: (this: string) => boolean }).isWellFormed;

/** True iff `s` has no lone surrogate (so it has a UTF-8 form and RFC 8785 can encode it). */
export function isWellFormed(s: string): boolean {
  return nativeIsWellFormed.call(s);
}

/** The first lone surrogate in `s`, written `\udXXX`, or undefined if `s` is well-formed. */
function firstLoneSurrogate(s: string): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    return `\\u${c.toString(16)}`;
  }
  return undefined;
}

/** The refusal reason for a string (or member name) with a lone surrogate, or undefined if it is well-formed. */
export function loneSurrogateReason(s: string, what: 'string' | 'key'): string | undefined {
  if (isWellFormed(s)) return undefined;
  return `lone surrogate ${firstLoneSurrogate(s) as string} in ${what}`;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Path of member `key` of the object at `path`: `.key` for identifiers,
 * `["…"]` (JSON-escaped, so never a lone surrogate) otherwise, as json-value.ts writes it.
 */
export function keyPath(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * JSON.parse(text), refusing duplicate member names and lone surrogates; throws only MalformedError.
 * `wellFormed`: the caller knows `text` has no raw lone surrogate (it came from a fatal UTF-8 decoder),
 * which saves a pass over non-ASCII text.
 */
export function parseStrictJson(text: string, opts: { wellFormed?: boolean } = {}): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    throw new MalformedError('$', `invalid JSON (${(e as Error).message})`);
  }
  const wellFormed = opts.wellFormed === true || isWellFormed(text);
  // Strings need a look only if the text can hold a lone surrogate: raw (a JS string argument) or escaped.
  const checkStrings = !wellFormed || (text.indexOf('\\u') >= 0 && SURROGATE_ESCAPE.test(text));
  if (!prototypeIsClean() || separatorColons(text) !== members(value, 0, checkStrings)) checkStrictJson(text, wellFormed);
  return value;
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/** Colons whose previous non-blank character is a quote: every member's separator, and maybe some inside strings. */
function separatorColons(text: string): number {
  let n = 0;
  for (let i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) {
    let j = i - 1;
    let c = text.charCodeAt(j);
    while (c === SPACE || c === LF || c === CR || c === TAB) c = text.charCodeAt(--j);
    if (c === QUOTE) n++;
  }
  return n;
}

/** Beyond this depth members() gives up (-1) rather than recurse; the scan is iterative. */
const MAX_WALK_DEPTH = 256;

/**
 * Members of every object in a JSON.parse result (for-in: Object.prototype must be clean); -1 if nested too
 * deep, or if `checkStrings` and some string or name has a lone surrogate (the scan then names it).
 */
function members(value: unknown, depth: number, checkStrings: boolean): number {
  if (typeof value === 'string') return checkStrings && !isWellFormed(value) ? -1 : 0;
  if (typeof value !== 'object' || value === null) return 0;
  if (depth === MAX_WALK_DEPTH) return -1;
  let n = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const m = members(value[i], depth + 1, checkStrings);
      if (m < 0) return -1;
      n += m;
    }
    return n;
  }
  const rec = value as Record<string, unknown>;
  for (const k in rec) {
    if (checkStrings && !isWellFormed(k)) return -1;
    const m = members(rec[k], depth + 1, checkStrings);
    if (m < 0) return -1;
    n += 1 + m;
  }
  return n;
}

/**
 * for-in is the fastest walk of JSON.parse's objects, but it would also list inherited enumerable keys: if
 * anyone has added one to Object.prototype, the scan decides instead.
 */
function prototypeIsClean(): boolean {
  for (const _ in {}) return false;
  return true;
}

const QUOTE = 0x22;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const SPACE = 0x20;
const LF = 0x0a;
const CR = 0x0d;
const TAB = 0x09;

/** Objects with more members than this index their names in a Set; smaller ones are searched. */
const LINEAR_KEYS = 12;

/** One open object or array on the way to the scan's position. */
interface Frame {
  readonly isObject: boolean;
  /** Arrays: index of the current item. */
  index: number;
  /** Objects: member names so far (the last is the current member's). */
  readonly names: string[];
  set: Set<string> | undefined;
}

/** JSON path of the position the frames describe (each frame's current member or item). */
function pathOf(frames: readonly Frame[], depth: number): string {
  let path = '$';
  for (let d = 0; d < depth; d++) {
    const f = frames[d] as Frame;
    path = f.isObject ? keyPath(path, f.names[f.names.length - 1] as string) : `${path}[${f.index}]`;
  }
  return path;
}

/** Throws MalformedError naming the first duplicate name or lone surrogate in `text`, which must be valid JSON. */
function checkStrictJson(text: string, wellFormed: boolean): void {
  const n = text.length;
  // Only a text with raw lone surrogates (a JS string argument) needs every string looked at.
  const checkAll = !wellFormed;
  const frames: Frame[] = [];
  let depth = 0; // frames[0..depth) are open; deeper entries are kept for reuse
  let expectName = false;
  let nextEscape = text.indexOf('\\');
  if (nextEscape < 0) nextEscape = n;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Find the closing quote, stepping over escapes (`\"`, `\\`, `\uXXXX`: the character after a backslash
      // is never the end, and hex digits are never quotes or backslashes).
      let end = text.indexOf('"', i + 1);
      let escaped = false;
      while (nextEscape < end) {
        escaped = true;
        if (nextEscape + 1 === end) end = text.indexOf('"', end + 1);
        nextEscape = text.indexOf('\\', nextEscape + 2);
        if (nextEscape < 0) nextEscape = n;
      }
      const isName = expectName;
      if (isName || escaped || checkAll) {
        const s = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
        if (isName) {
          const f = frames[depth - 1] as Frame;
          const names = f.names;
          const duplicate = f.set !== undefined ? f.set.has(s) : names.includes(s);
          names.push(s);
          if (f.set !== undefined) f.set.add(s);
          else if (names.length > LINEAR_KEYS) f.set = new Set(names);
          if (duplicate) {
            throw new MalformedError(pathOf(frames, depth), `duplicate key ${JSON.stringify(s)}`);
          }
          expectName = false;
        }
        if (escaped || checkAll) {
          const reason = loneSurrogateReason(s, isName ? 'key' : 'string');
          if (reason !== undefined) throw new MalformedError(pathOf(frames, depth), reason);
        }
      }
      i = end + 1;
      continue;
    }
    switch (c) {
      case OPEN_OBJECT:
      case OPEN_ARRAY: {
        const isObject = c === OPEN_OBJECT;
        let f = frames[depth];
        if (f === undefined || f.isObject !== isObject) {
          f = { isObject, index: 0, names: [], set: undefined };
          frames[depth] = f;
        } else {
          f.index = 0;
          f.names.length = 0;
          f.set = undefined;
        }
        depth++;
        expectName = isObject;
        break;
      }
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        depth--;
        expectName = false;
        break;
      case COMMA: {
        const f = frames[depth - 1] as Frame;
        if (f.isObject) expectName = true;
        else f.index++;
        break;
      }
      default:
        break; // `:`, whitespace, numbers, true/false/null: nothing to check
    }
    i++;
  }
}
