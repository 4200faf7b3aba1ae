/**
 * The release of this build, for `--version` of all three programs: the
 * `version` of the package.json beside dist/ (the source tree's, or the
 * installed copy's: install.sh copies it along). "unknown" if unreadable.
 */
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  try {
    // dist/adapters/release/package-version.js → <root>/package.json
    const p = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof p.version === 'string' ? p.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
