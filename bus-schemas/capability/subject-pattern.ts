/**
 * Containment of NATS-style subject patterns and of action paths — the two
 * "which things" halves of a capability grant (DESIGN §4).
 *
 * Subjects are dot-separated non-empty tokens. In a pattern, `*` matches
 * exactly one token and `>` (last token only) matches one or more trailing
 * tokens; every other token matches only itself. Patterns are assumed to be
 * well formed (RESOURCE_PATTERN), as every parsed grant is.
 *
 * Action paths are `/` or `/seg/seg…`; a path covers itself and every path
 * below it, segment-wise: `/provision` covers `/provision/BUILD_WORKER` but not
 * `/provisioning`; `/` covers everything.
 */

/** True iff the concrete subject (no wildcards) is matched by `pattern`. */
export function subjectMatches(pattern: string, subject: string): boolean {
  return patternCovers(pattern, subject);
}

/**
 * True iff every subject matched by `inner` is matched by `outer`.
 *
 * Token by token: an outer `>` takes any non-empty rest of inner (inner has a
 * token here, so each of its subjects has at least one token left); an inner
 * `>` matches subjects of any length ≥ 1 from here, which only an outer `>`
 * can follow; an outer `*` takes one inner token that is a literal or `*`;
 * an outer literal takes only the same literal (an inner `*` would also match
 * other tokens). Both must end together. A concrete subject is a pattern
 * without wildcards, so this also decides matching.
 */
export function patternCovers(outer: string, inner: string): boolean {
  if (outer === inner || outer === '>') return true;
  let o = 0;
  let i = 0;
  for (;;) {
    const oEnd = tokenEnd(outer, o);
    const iEnd = tokenEnd(inner, i);
    const oLast = oEnd === outer.length;
    const iLast = iEnd === inner.length;
    if (oEnd - o === 1 && outer.charCodeAt(o) === GT) return true;
    if (iEnd - i === 1 && inner.charCodeAt(i) === GT) return false;
    if (!(oEnd - o === 1 && outer.charCodeAt(o) === STAR)) {
      if (iEnd - i !== oEnd - o || !sameChars(outer, o, inner, i, oEnd - o)) return false;
    }
    // outer `*` against an inner literal or `*`: both match exactly one token.
    if (oLast || iLast) return oLast && iLast;
    o = oEnd + 1;
    i = iEnd + 1;
  }
}

const STAR = 0x2a;
const GT = 0x3e;

function tokenEnd(s: string, from: number): number {
  const at = s.indexOf('.', from);
  return at === -1 ? s.length : at;
}

function sameChars(a: string, aFrom: number, b: string, bFrom: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (a.charCodeAt(aFrom + k) !== b.charCodeAt(bFrom + k)) return false;
  return true;
}

/** True iff action path `outer` covers `inner`: equal, `/`, or a segment-wise prefix. */
export function actionCovers(outer: string, inner: string): boolean {
  if (outer === '/' || outer === inner) return true;
  return inner.length > outer.length && inner.startsWith(outer) && inner.charCodeAt(outer.length) === SLASH;
}

const SLASH = 0x2f;
