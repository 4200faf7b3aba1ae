/**
 * Host text (CPU brands, kernel banners, tool version lines) folded into the
 * printable, bounded strings PlatformReportV1 accepts: control characters
 * become spaces, runs of white space collapse, and over-long text is cut
 * without splitting a UTF-16 surrogate pair.
 */

// eslint-disable-next-line no-control-regex -- replacing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

export function toPrintable(text: string, max: number): string {
  const folded = text.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
  if (folded.length <= max) return folded;
  let cut = folded.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return cut.trimEnd();
}

// eslint-disable-next-line no-control-regex -- ANSI colour sequences (bastille colours its version)
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/** The first dotted version number in `text` (`v2.9.10` → `2.9.10`, `iproute2-6.1.0` → `6.1.0`), colours stripped. */
export function findVersion(text: string): string | undefined {
  const m = /(?:^|[^0-9A-Za-z.])v?(\d+(?:\.\d+)+(?:[-+~][0-9A-Za-z.+~_]+)*)/.exec(text.replace(ANSI, ' '));
  return m?.[1];
}
