/**
 * isolation(noop): units that exist only in this process's memory. For the
 * control-plane benchmark (orchestrator throughput without kernel work) and
 * for protocol tests; an agent configured with `isolation: "noop"` isolates
 * nothing and says so at start.
 *
 * exec() runs nothing, but answers as `sh -c 'exec "$@"'` would in a unit
 * whose only files are the ones writeFile() put there: a program that is not
 * there exits 127 (`not found` on stderr), one without an execute bit 126,
 * any other exits 0. `cat` (/bin/cat, /usr/bin/cat) is emulated over those
 * files, because the agent reads a job's executable with it before it runs
 * the pinned copy (agent/job-runner.ts).
 */
import { posix } from 'node:path';
import { HolonError } from '../../../bus-schemas/errors.js';
import { UNIT_NAME_PATTERN, ZERO_USAGE, type ExecOptions, type ExecResult, type IsolationPort, type UnitInfo } from '../../../bus-schemas/units/port.js';
import { ROLE_TEMPLATES, type UnitRole } from '../../../bus-schemas/units/roles.js';
import { showUnitPath, splitUnitPath } from '../../../bus-schemas/units/unit-path.js';

export class NoopIsolationError extends HolonError {
  static readonly CODE = 'HOLON_E_ISOLATION_NOOP';
  constructor(message: string) {
    super(NoopIsolationError.CODE, `isolation(noop): ${message}`);
  }
}

/** The unit's working directory and PATH when exec() is given none (the Linux adapter's defaults). */
const HOME = '/home/unit';
const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';
const CAT = new Set(['/bin/cat', '/usr/bin/cat']);

interface NoopFile {
  content: Uint8Array;
  mode: number;
}

const exited = (exitCode: number): ExecResult => ({ exitCode, signal: null, timedOut: false });

/** `cat [--] FILE…` over the unit's files, as coreutils' cat reports a missing one. */
function cat(args: string[], cwd: string, lookup: (abs: string) => NoopFile | undefined, opts: ExecOptions): ExecResult {
  let status = 0;
  for (const arg of args[0] === '--' ? args.slice(1) : args) {
    const f = lookup(posix.resolve(cwd, arg));
    if (f === undefined) {
      opts.onStderr?.(Buffer.from(`cat: ${arg}: No such file or directory\n`));
      status = 1;
    } else if (f.content.length > 0) {
      opts.onStdout?.(Buffer.from(f.content));
    }
  }
  return exited(status);
}

/**
 * What `sh -c 'exec "$@"' sh argv…` reports for argv[0] (dash, Debian's
 * /bin/sh): a name without `/` is searched in PATH; no such file is 127, a
 * file without an execute bit is 126, each with dash's message.
 */
function shellExec(argv: string[], lookup: (abs: string) => NoopFile | undefined, opts: ExecOptions): ExecResult {
  const program = argv[0] as string;
  const cwd = opts.cwd ?? HOME;
  const candidates = program.includes('/') ? [posix.resolve(cwd, program)] : (opts.env?.PATH ?? DEFAULT_PATH).split(':').map((d) => posix.resolve(cwd, d || '.', program));
  const found = candidates.find((c) => CAT.has(c) || lookup(c) !== undefined);
  if (found === undefined) {
    opts.onStderr?.(Buffer.from(`sh: 1: ${program}: not found\n`));
    return exited(127);
  }
  if (CAT.has(found)) return cat(argv.slice(1), cwd, lookup, opts);
  if (((lookup(found) as NoopFile).mode & 0o111) === 0) {
    opts.onStderr?.(Buffer.from(`sh: 1: ${program}: Permission denied\n`));
    return exited(126);
  }
  return exited(0);
}

export function createNoopIsolation(opts: { root?: string } = {}): IsolationPort & { files: Map<string, Map<string, Uint8Array>> } {
  const units = new Map<string, UnitInfo>();
  const files = new Map<string, Map<string, Uint8Array>>();
  /** writeFile's mode per unit and canonical path (exec's execute bit) */
  const modes = new Map<string, Map<string, number>>();
  const root = opts.root ?? '/nonexistent/holonet-noop';
  /** `fn` on the unit `name`, as a promise; a refusal (unknown unit, bad argument) rejects, it never throws. */
  const withUnit = <T>(name: string, fn: (u: UnitInfo) => T): Promise<T> => {
    const u = units.get(name);
    if (u === undefined) return Promise.reject(new NoopIsolationError(`no unit ${name}`));
    return new Promise((resolve) => resolve(fn(u)));
  };

  return {
    kind: 'noop',
    // Any role, no tool, on whatever system the agent runs.
    capabilities: { os_family: process.platform === 'freebsd' ? 'freebsd' : 'linux', tools: [], unit_roles: Object.keys(ROLE_TEMPLATES) as UnitRole[] },
    files,
    create(spec) {
      if (!UNIT_NAME_PATTERN.test(spec.name)) return Promise.reject(new NoopIsolationError(`invalid unit name ${JSON.stringify(spec.name)}`));
      let u = units.get(spec.name);
      if (u === undefined) {
        u = { name: spec.name, status: 'running', root: `${root}/${spec.name}`, uid: 65534, gid: 65534 };
        units.set(spec.name, u);
        files.set(spec.name, new Map());
        modes.set(spec.name, new Map());
      }
      return Promise.resolve(u);
    },
    inspect: (name) => Promise.resolve(units.get(name)),
    list: () => Promise.resolve([...units.keys()]),
    exec: (name, argv, opts = {}) =>
      withUnit(name, () => {
        if (!Array.isArray(argv) || typeof argv[0] !== 'string' || argv[0] === '') throw new NoopIsolationError(`exec ${name}: argv[0] must be a non-empty string`);
        const lookup = (abs: string): NoopFile | undefined => {
          const key = abs.split('/').filter((p) => p !== '').join('/');
          const content = files.get(name)?.get(key);
          return content === undefined ? undefined : { content, mode: modes.get(name)?.get(key) ?? 0 };
        };
        return shellExec(argv, lookup, opts);
      }),
    writeFile: (name, file) =>
      withUnit(name, () => {
        const path = splitUnitPath(file.path);
        if (!path.ok) throw new NoopIsolationError(`writeFile ${name}: path ${showUnitPath(file.path)} ${path.reason}`);
        files.get(name)?.set(path.segments.join('/'), typeof file.content === 'string' ? new TextEncoder().encode(file.content) : file.content);
        modes.get(name)?.set(path.segments.join('/'), file.mode);
      }),
    freeze: (name) => withUnit(name, (u) => void (u.status = 'frozen')),
    thaw: (name) => withUnit(name, (u) => void (u.status = 'running')),
    kill: (name) => withUnit(name, (u) => void (u.status = 'stopped')),
    usage: (name) => withUnit(name, () => ({ ...ZERO_USAGE })),
    destroy(name) {
      units.delete(name);
      files.delete(name);
      modes.delete(name);
      return Promise.resolve();
    },
  };
}
