/**
 * The unit init: a long-lived process, pid 1 of the unit's pid namespace,
 * that holds the unit's namespaces and reaps its orphans. Launched detached
 * (setsid; its own session and process group), so it outlives the agent.
 *
 *   nsenter --net=/run/netns/holon-<name>                 ← the unit's network namespace
 *     unshare --pid --fork --mount --uts --ipc --propagation private
 *       sh -c INNER                                       ← pid 1 of the new pid namespace
 *   INNER: echo $$ > <each cgroup.procs>                  ← joins the cgroup before anything else runs
 *          hostname; ip -batch net.batch; mount --fstab fstab -a; pivot_root . .; umount -l .;
 *          echo ready; exec sh -c 'while :; do sleep & wait; done'   (stdio → /dev/null)
 *
 * `unshare` stays outside the unit (host pid namespace, not in the unit's
 * cgroup) as the init's parent: when the unit is killed it reaps the init and
 * exits, so no zombie is left charged to the unit. The init prints `ready`
 * after the pivot, so when launchInit resolves the unit's filesystem view is
 * final and nothing of the host's mount tree is left in its namespace.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { IsolationError } from './isolation-error.js';
import type { HostTools } from './tools.js';

export interface InitLaunch {
  name: string;
  unitDir: string;
  rootDir: string;
  netns: string;
  procsFiles: string[];
  tools: HostTools;
  timeoutMs: number;
}

const INIT_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

export function initScripts(l: InitLaunch): { outer: string; inner: string } {
  const t = l.tools;
  const join = l.procsFiles.map((f) => `echo $$ > ${f}`).join('\n');
  const inner = [
    'set -e',
    join,
    `echo ${l.name} > /proc/sys/kernel/hostname`,
    `${t.ip} -batch ${l.unitDir}/net.batch >/dev/null`,
    `${t.mount} --fstab ${l.unitDir}/fstab -a`,
    `cd ${l.rootDir}`,
    `${t.pivotRoot} . .`,
    `${t.umount} -l .`,
    'cd /',
    'echo ready',
    `exec /bin/sh -c 'exec </dev/null >/dev/null 2>&1; while :; do sleep 2147483647 & wait; done'`,
  ].join('\n');
  const outer = `exec ${t.nsenter} --net=${l.netns} ${t.unshare} --pid --fork --mount --uts --ipc --propagation private ${t.sh} -c "$1" holon-init`;
  return { outer, inner };
}

export interface LaunchedInit {
  /** host pid of the unit init (pid 1 inside) */
  initPid: number;
  /** host pid of `unshare`, the init's parent outside the unit */
  launcherPid: number;
}

async function childOf(pid: number): Promise<number | undefined> {
  try {
    const kids = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim().split(' ').filter((s) => s !== '');
    return kids.length === 1 ? Number(kids[0]) : undefined;
  } catch {
    return undefined;
  }
}

/** Start the init; resolves with its host pid once it reports ready (mounts done, root pivoted). */
export function launchInit(l: InitLaunch): Promise<LaunchedInit> {
  const { outer, inner } = initScripts(l);
  return new Promise((resolve, reject) => {
    const child = spawn(l.tools.sh, ['-c', outer, 'holon-unit', inner], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: INIT_PATH } });
    let out = '';
    let err = '';
    let settled = false;
    const fail = (e: IsolationError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      child.unref();
      // leave nothing half-started behind: the launcher's process group holds the init too
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      reject(e);
    };
    const ready = async (launcherPid: number): Promise<void> => {
      const initPid = await childOf(launcherPid);
      if (settled) return;
      if (initPid === undefined) {
        fail(new IsolationError('command', l.name, 'create/init', `the launcher (pid ${launcherPid}) has no single child after ready`, { stderr: err }));
        return;
      }
      settled = true;
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      child.unref();
      resolve({ initPid, launcherPid });
    };
    const timer = setTimeout(
      () => fail(new IsolationError('command', l.name, 'create/init', `the unit init did not report ready within ${l.timeoutMs} ms`, { stderr: err })),
      l.timeoutMs,
    );
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (out.split('\n').includes('ready') && child.pid !== undefined) void ready(child.pid);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.once('error', (e) => fail(new IsolationError('command', l.name, 'create/init', `cannot start the unit init: ${e.message}`, { cause: e })));
    child.once('exit', (code, signal) => {
      // the launcher outlives a healthy init: exiting before `ready` means the init failed (its stderr says why)
      setTimeout(() => {
        fail(
          new IsolationError('command', l.name, 'create/init', `the unit init exited before it was ready${signal ? ` (signal ${signal})` : ''}`, {
            exitCode: code ?? -1,
            stderr: err,
          }),
        );
      }, 20);
    });
  });
}
