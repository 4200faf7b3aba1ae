/**
 * The one rule for paths inside a unit (IsolationPort.writeFile): every
 * adapter splits a unit-relative path with this function before it touches
 * anything, so the rule cannot drift between Linux, Bastille and noop.
 *
 * A unit path is relative to the unit root and can only name a place below
 * it: no absolute path, no `..` segment, no NUL, at most 4096 UTF-8 bytes in
 * all (PATH_MAX), at most 255 bytes per segment (NAME_MAX) and at most 64
 * segments. `.` and empty segments (`./a//b`) name nothing and are dropped
 * (the port documents paths as canonicalized); what is left must name
 * something other than the root itself.
 *
 * Containment against symlinks planted by the unit is the adapter's part
 * (it walks the returned segments without following links); this function
 * only guarantees that the segments themselves never climb.
 */

export const UNIT_PATH_MAX_BYTES = 4096;
export const UNIT_PATH_MAX_SEGMENT_BYTES = 255;
export const UNIT_PATH_MAX_SEGMENTS = 64;

export type UnitPathCheck = { ok: true; segments: string[] } | { ok: false; reason: string };

const utf8Length = (s: string): number => new TextEncoder().encode(s).byteLength;

/**
 * Validate a unit-relative path and split it into segments, or say why not.
 * The reason completes `path "<path>" …` (e.g. `contains '..'`).
 */
export function splitUnitPath(path: unknown): UnitPathCheck {
  const refuse = (reason: string): UnitPathCheck => ({ ok: false, reason });
  if (typeof path !== 'string') return refuse('is not a string');
  if (path === '') return refuse('is empty');
  if (utf8Length(path) > UNIT_PATH_MAX_BYTES) return refuse(`is longer than ${UNIT_PATH_MAX_BYTES} bytes`);
  if (path.includes('\0')) return refuse('contains NUL');
  if (path.startsWith('/')) return refuse('is absolute; paths are relative to the unit root');
  const segments = path.split('/').filter((p) => p !== '' && p !== '.');
  if (segments.length === 0) return refuse('names the root itself');
  if (segments.includes('..')) return refuse("contains '..'");
  if (segments.some((p) => utf8Length(p) > UNIT_PATH_MAX_SEGMENT_BYTES)) return refuse(`has a component longer than ${UNIT_PATH_MAX_SEGMENT_BYTES} bytes`);
  if (segments.length > UNIT_PATH_MAX_SEGMENTS) return refuse(`has more than ${UNIT_PATH_MAX_SEGMENTS} segments`);
  return { ok: true, segments };
}

/** How a refused path is shown in an adapter's error: quoted, at most 200 characters. */
export function showUnitPath(path: unknown): string {
  return JSON.stringify(String(path).slice(0, 200));
}
