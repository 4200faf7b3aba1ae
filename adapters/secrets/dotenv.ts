/**
 * The `.env` a unit receives, and the strict grammar the directory store
 * reads. `renderDotEnv` is deterministic (names sorted) and quotes every value
 * so that no value can start another line or define another variable in any
 * reader that understands quotes (POSIX sh `set -a; . ./.env`, systemd
 * EnvironmentFile, docker compose, python-dotenv); `parseDotEnv` reads what it
 * renders back exactly (a fast-check property in the tests) and refuses
 * everything outside the grammar below with the line number, never the value.
 *
 *   file      = *( line LF ) [ line ]          ; LF only: a CR anywhere is refused
 *   line      = "" / "#" *char / NAME "=" value
 *   NAME      = SECRET_NAME_PATTERN            ; no spaces, no `export ` prefix
 *   value     = "" / unquoted / squoted / dquoted   ; nothing after a closing quote
 *   unquoted  = 1*( ALPHA / DIGIT / "_" / "@" / "%" / "+" / "=" / ":" / "," / "." / "/" / "-" )
 *   squoted   = "'" *( any char but "'" and control characters other than TAB ) "'"   ; literal
 *   dquoted   = DQUOTE *( plain / escape ) DQUOTE
 *   plain     = any char but DQUOTE, "\", "$", "`" and control characters other than TAB
 *   escape    = "\\" / "\"" / "\$" / "\`" / "\n" / "\r" / "\t" / "\u" 4HEXDIG   ; \u: not NUL, not a surrogate
 *
 * Rendering: a value with no `'`, no `\` and no control character (TAB
 * aside) is single-quoted (literal everywhere, `$` included); any other
 * value is double-quoted with the escapes above (control characters, DEL,
 * U+0085, U+2028, U+2029 as `\uXXXX`), so the file never holds a raw line
 * break other than the one ending each variable.
 */
import { HolonError } from '../../bus-schemas/errors.js';
import type { TenantSecrets } from '../../bus-schemas/units/secret-port.js';
import { SECRET_NAME_PATTERN } from '../../bus-schemas/units/secret-port.js';

/** At most this many variables in one `.env`. */
export const MAX_DOTENV_VARS = 1024;

/** A `.env` text outside the grammar, or secrets that cannot be rendered. Never carries a value. */
export class DotEnvError extends HolonError {
  static readonly CODE = 'HOLON_E_SECRETS_DOTENV';
  /** 1-based line of the offending text (parse errors only). */
  readonly line: number | undefined;
  readonly reason: string;
  constructor(reason: string, line?: number) {
    super(DotEnvError.CODE, line === undefined ? `.env: ${reason}` : `.env line ${line}: ${reason}`);
    this.reason = reason;
    this.line = line;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, line: this.line, reason: this.reason };
  }
}

const UNQUOTED = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Control characters (TAB excepted) and the Unicode line/paragraph separators some readers split on. */
function isBreaking(c: number): boolean {
  return (c < 0x20 && c !== 0x09) || c === 0x7f || c === 0x85 || c === 0x2028 || c === 0x2029;
}

function isSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdfff;
}

/** A safe way to name a variable in a message: valid names verbatim, anything else not at all. */
function nameOf(name: string): string {
  return SECRET_NAME_PATTERN.test(name) ? name : 'a variable';
}

function quoteValue(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new DotEnvError(`${nameOf(name)}: value must be a string, got ${typeof value}`);
  let single = true;
  for (const ch of value) {
    const c = ch.codePointAt(0) ?? 0;
    if (c === 0) throw new DotEnvError(`${nameOf(name)}: value contains a NUL byte`);
    if (isSurrogate(c)) throw new DotEnvError(`${nameOf(name)}: value is not well-formed Unicode (lone surrogate)`);
    if (ch === "'" || ch === '\\' || isBreaking(c)) single = false;
  }
  if (single) return `'${value}'`;
  let out = '"';
  for (const ch of value) {
    const c = ch.codePointAt(0) ?? 0;
    switch (ch) {
      case '\\':
      case '"':
      case '$':
      case '`':
        out += `\\${ch}`;
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      default:
        out += isBreaking(c) ? `\\u${c.toString(16).padStart(4, '0')}` : ch;
    }
  }
  return `${out}"`;
}

/**
 * Render a tenant's variables as a `.env`: one `NAME=value` line per
 * variable, names in code-unit order, every value quoted, LF line ends; the
 * empty string for no variables. Throws DotEnvError for a name outside
 * SECRET_NAME_PATTERN, a NUL or a lone surrogate in a value.
 */
export function renderDotEnv(secrets: TenantSecrets): string {
  const names = Object.keys(secrets.vars).sort();
  if (names.length > MAX_DOTENV_VARS) throw new DotEnvError(`${names.length} variables (at most ${MAX_DOTENV_VARS})`);
  let out = '';
  for (const name of names) {
    if (!SECRET_NAME_PATTERN.test(name)) {
      throw new DotEnvError(`variable name ${JSON.stringify(name.slice(0, 140))} does not match ${String(SECRET_NAME_PATTERN)}`);
    }
    out += `${name}=${quoteValue(name, secrets.vars[name])}\n`;
  }
  return out;
}

/** Set an own, enumerable property (also for names like `__proto__`, which SECRET_NAME_PATTERN admits). */
export function setVar(vars: Record<string, string>, name: string, value: string): void {
  Object.defineProperty(vars, name, { value, enumerable: true, writable: true, configurable: true });
}

function parseSingle(rest: string, line: number): string {
  const end = rest.indexOf("'", 1);
  if (end < 0) throw new DotEnvError('unterminated single-quoted value', line);
  if (end !== rest.length - 1) throw new DotEnvError('unexpected characters after the closing quote', line);
  return rest.slice(1, end);
}

function parseDouble(rest: string, line: number): string {
  let out = '';
  let i = 1;
  for (;;) {
    if (i >= rest.length) throw new DotEnvError('unterminated double-quoted value', line);
    const ch = rest[i] as string;
    if (ch === '"') break;
    if (ch === '$' || ch === '`') throw new DotEnvError(`unescaped '${ch}' in a double-quoted value (write \\${ch})`, line);
    if (ch !== '\\') {
      out += ch;
      i += 1;
      continue;
    }
    const e = rest[i + 1];
    switch (e) {
      case '\\':
      case '"':
      case '$':
      case '`':
        out += e;
        i += 2;
        break;
      case 'n':
        out += '\n';
        i += 2;
        break;
      case 'r':
        out += '\r';
        i += 2;
        break;
      case 't':
        out += '\t';
        i += 2;
        break;
      case 'u': {
        const hex = rest.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new DotEnvError('\\u must be followed by 4 hex digits', line);
        const c = Number.parseInt(hex, 16);
        if (c === 0) throw new DotEnvError('\\u0000 (NUL) is not allowed in a value', line);
        if (isSurrogate(c)) throw new DotEnvError('\\u escape of a surrogate is not allowed', line);
        out += String.fromCharCode(c);
        i += 6;
        break;
      }
      default:
        throw new DotEnvError(
          e === undefined ? 'a value ends with a lone backslash' : 'unknown escape (allowed: \\\\ \\" \\$ \\` \\n \\r \\t \\uXXXX)',
          line,
        );
    }
  }
  if (i !== rest.length - 1) throw new DotEnvError('unexpected characters after the closing quote', line);
  return out;
}

function parseValue(rest: string, line: number): string {
  if (rest === '') return '';
  if (rest[0] === "'") return parseSingle(rest, line);
  if (rest[0] === '"') return parseDouble(rest, line);
  if (!UNQUOTED.test(rest)) {
    throw new DotEnvError('unquoted value contains characters that must be quoted (space, quote, $, #, backslash, …)', line);
  }
  return rest;
}

/**
 * Parse a `.env` in the grammar above into name → value. Throws DotEnvError
 * (with the 1-based line) for anything else: a CR, a control character, a
 * line without `=`, a bad name, `export`, whitespace around `=`, an
 * unterminated or trailing-garbage quote, an unknown escape, a duplicate name.
 */
export function parseDotEnv(text: string): Record<string, string> {
  if (typeof text !== 'string') throw new DotEnvError('input must be a string');
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const seen = new Map<string, string>();
  lines.forEach((raw, index) => {
    const line = index + 1;
    for (const ch of raw) {
      const c = ch.codePointAt(0) ?? 0;
      if (c === 0x0d) throw new DotEnvError('carriage return (CR) found: the file must use LF line ends', line);
      if (c === 0) throw new DotEnvError('NUL byte found', line);
      if (index === 0 && c === 0xfeff) throw new DotEnvError('byte order mark found: save the file as UTF-8 without BOM', line);
      if (isBreaking(c)) throw new DotEnvError(`control character U+${c.toString(16).padStart(4, '0')} found (use a double-quoted \\u escape)`, line);
      if (isSurrogate(c)) throw new DotEnvError('not well-formed Unicode (lone surrogate)', line);
    }
    if (raw === '' || raw.startsWith('#')) return;
    const eq = raw.indexOf('=');
    if (eq < 0) throw new DotEnvError('expected NAME=VALUE, a comment (#…) or an empty line', line);
    const name = raw.slice(0, eq);
    if (!SECRET_NAME_PATTERN.test(name)) {
      if (/^\s*export\s/.test(name)) throw new DotEnvError("the 'export' prefix is not allowed", line);
      if (/\s/.test(name)) throw new DotEnvError("whitespace is not allowed around a name or '='", line);
      throw new DotEnvError(`invalid variable name (must match ${String(SECRET_NAME_PATTERN)})`, line);
    }
    const value = parseValue(raw.slice(eq + 1), line);
    if (seen.has(name)) throw new DotEnvError(`duplicate variable ${name}`, line);
    if (seen.size >= MAX_DOTENV_VARS) throw new DotEnvError(`more than ${MAX_DOTENV_VARS} variables`, line);
    seen.set(name, value);
  });
  const vars: Record<string, string> = {};
  for (const [name, value] of seen) setVar(vars, name, value);
  return vars;
}
