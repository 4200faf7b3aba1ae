/**
 * isolation(noop): units that exist only in this process's memory. For the
 * control-plane benchmark (orchestrator throughput without kernel work) and
 * for protocol tests; an agent configured with `isolation: "noop"` isolates
 * nothing and says so at start. exec() runs nothing and reports exit 0.
 */
import { HolonError } from '../../../bus-schemas/errors.js';
import { UNIT_NAME_PATTERN, ZERO_USAGE, type IsolationPort, type UnitInfo } from '../../../bus-schemas/units/port.js';
import { ROLE_TEMPLATES, type UnitRole } from '../../../bus-schemas/units/roles.js';
import { showUnitPath, splitUnitPath } from '../../../bus-schemas/units/unit-path.js';

export class NoopIsolationError extends HolonError {
  static readonly CODE = 'HOLON_E_ISOLATION_NOOP';
  constructor(message: string) {
    super(NoopIsolationError.CODE, `isolation(noop): ${message}`);
  }
}

export function createNoopIsolation(opts: { root?: string } = {}): IsolationPort & { files: Map<string, Map<string, Uint8Array>> } {
  const units = new Map<string, UnitInfo>();
  const files = new Map<string, Map<string, Uint8Array>>();
  const root = opts.root ?? '/nonexistent/holonet-noop';
  const need = (name: string): UnitInfo => {
    const u = units.get(name);
    if (u === undefined) throw new NoopIsolationError(`no unit ${name}`);
    return u;
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
      }
      return Promise.resolve(u);
    },
    inspect: (name) => Promise.resolve(units.get(name)),
    list: () => Promise.resolve([...units.keys()]),
    exec(name) {
      need(name);
      return Promise.resolve({ exitCode: 0, signal: null, timedOut: false });
    },
    writeFile(name, file) {
      need(name);
      const path = splitUnitPath(file.path);
      if (!path.ok) return Promise.reject(new NoopIsolationError(`writeFile ${name}: path ${showUnitPath(file.path)} ${path.reason}`));
      files.get(name)?.set(path.segments.join('/'), typeof file.content === 'string' ? new TextEncoder().encode(file.content) : file.content);
      return Promise.resolve();
    },
    freeze(name) {
      need(name).status = 'frozen';
      return Promise.resolve();
    },
    thaw(name) {
      need(name).status = 'running';
      return Promise.resolve();
    },
    kill(name) {
      need(name).status = 'stopped';
      return Promise.resolve();
    },
    usage(name) {
      need(name);
      return Promise.resolve({ ...ZERO_USAGE });
    },
    destroy(name) {
      units.delete(name);
      files.delete(name);
      return Promise.resolve();
    },
  };
}
