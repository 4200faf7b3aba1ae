/**
 * Is a received JSON text exactly the RFC 8785 (JCS) form of the value
 * JSON.parse made of it? The replay asks this of every ledger entry, so the
 * usual answer comes without building the canonical encoding:
 *
 *   fast path: every object's keys (in JSON.parse's order) are strictly
 *   increasing in UTF-16 code units, and JSON.stringify(value) === text.
 *
 * Why that suffices: canonical.ts writes each object's keys sorted by UTF-16
 * code units (Object.keys(...).sort()) and every string and number exactly as
 * JSON.stringify does, with no whitespace. When Object.keys is already in that
 * order, JSON.stringify(value) — which walks Object.keys — IS canonicalString
 * (value); equal to the text, the text is canonical. (Values canonical.ts
 * would refuse cannot pass: ±Infinity stringifies as `null`, which differs
 * from any text JSON.parse reads as Infinity, and unsafe integers are refused
 * by the entry schema before this runs.) Duplicate keys, whitespace, other
 * escapes or number spellings make JSON.stringify differ from the text.
 *
 * The fast path can only say "yes". When it fails, the exact check decides:
 * canonicalString(value) === text. That covers the one canonical shape the
 * fast path misreads — integer-like keys ("1", "10", "2" is sorted, but
 * Object.keys lists them 1, 2, 10) — so no canonical entry is refused.
 */
import { canonicalString } from '../canonical.js';

/** True iff `text` is the RFC 8785 canonical form of `value` (= JSON.parse(text)). */
export function isCanonicalText(value: unknown, text: string): boolean {
  if (keysSorted(value) && JSON.stringify(value) === text) return true;
  try {
    return canonicalString(value) === text;
  } catch {
    return false; // a value with no canonical form (e.g. Infinity) has no canonical text
  }
}

/** Every object in `value` lists its keys in strictly increasing UTF-16 order. */
function keysSorted(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!keysSorted(value[i])) return false;
    return true;
  }
  const rec = value as Record<string, unknown>;
  let previous: string | null = null;
  for (const k in rec) {
    // JSON.parse output has only own, enumerable, plain-object properties; `<` on strings compares UTF-16 code units.
    if (previous !== null && !(previous < k)) return false;
    if (!keysSorted(rec[k])) return false;
    previous = k;
  }
  return true;
}
