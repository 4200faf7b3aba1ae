/**
 * `bastille` 1.4.4 as its shell scripts behave (BastilleBSD/bastille, tag 1.4.4 =
 * commit 2280556b, usr/local/bin/bastille and usr/local/share/bastille/*.sh):
 * the dispatcher, each subcommand's option loop (unknown option →
 * `[ERROR]: Unknown Option: "-q"`, exit 1; wrong argument count → the usage,
 * exit 1), and common.sh's target resolution. The subcommands live beside it:
 * bastille-create.ts, bastille-run.ts (start, stop, restart, config),
 * bastille-destroy.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runConfig, runRestart, runStart, runStop } from './bastille-run.js';
import { runCreate } from './bastille-create.js';
import { runDestroy } from './bastille-destroy.js';
import { fail, findRunning, jailsDir, listJails, logCall, withState, type SimState } from './state.js';

const MAIN_USAGE = `
Bastille is an open-source system for automating deployment and management of
containerized applications on FreeBSD.

Usage:
  bastille [option(s)] COMMAND [option(s)] TARGET ARGS
`;

/** common.sh `info 1`/`error_notify`: to stderr. */
export const info = (msg: string): void => void process.stderr.write(`${msg}\n`);

/** A subcommand's usage(): error_notify the line, cat the options, exit 1. */
export function subUsage(line: string, options: string): never {
  process.stderr.write(`${line}\n`);
  process.stdout.write(`\n    Options:\n\n${options}\n`);
  process.exit(1);
}

export interface Opts {
  flags: Set<string>;
  values: Map<string, string>;
  rest: string[];
}

/** Bastille's option loop: long forms, then clustered short letters; anything else is an unknown option. */
export function parseOpts(argv: string[], long: Record<string, string>, short: string, withValue: string[] = []): Opts {
  const flags = new Set<string>();
  const values = new Map<string, string>();
  let i = 0;
  while (i < argv.length) {
    const a = argv[i] as string;
    if (a === '-h' || a === '--help' || a === 'help') return { flags: new Set(['help']), values, rest: [] };
    if (!a.startsWith('-')) break;
    const key = long[a];
    if (key !== undefined) {
      if (withValue.includes(key)) {
        values.set(key, argv[i + 1] ?? '');
        i += 2;
      } else {
        flags.add(key);
        i += 1;
      }
      continue;
    }
    for (const c of a.replace(/-/g, '')) {
      if (!short.includes(c)) fail(`[ERROR]: Unknown Option: "${a}"\n`);
      flags.add(c);
    }
    i += 1;
  }
  return { flags, values, rest: argv.slice(i) };
}

/** grep -w: `word` delimited by characters that are not letters, digits or underscores. */
export function wordIn(word: string, text: string): boolean {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9_])${escaped}($|[^A-Za-z0-9_])`, 'm').test(text);
}

/** The jails whose settings.conf `priority` orders them (common.sh list_jail_priority), reversed for stop/destroy. */
function byPriority(s: SimState, jails: string[], reverse: boolean): string[] {
  const prio = (j: string): number => {
    const m = /^priority="?(\d+)"?$/m.exec(readSettings(s, j));
    return m === null ? 99 : Number(m[1]);
  };
  return [...new Set(jails)].sort((a, b) => (reverse ? prio(b) - prio(a) : prio(a) - prio(b)) || a.localeCompare(b));
}

export function readSettings(s: SimState, jail: string): string {
  try {
    return readFileSync(join(jailsDir(s), jail, 'settings.conf'), 'utf8');
  } catch {
    return '';
  }
}

/**
 * common.sh `set_target`: `^[aA][lL][lL]$` is every jail (target_all_jails); a digits-only target is a JID (get_jail_name,
 * "Error: JID … not found. Is jail running?"); an exact jail name; else a unique prefix of one (jail_autocomplete, "Multiple
 * jails found for …" when several); else a tag (grep -w in every jail's `tags`); else `Jail not found "X"` (error_continue;
 * no jail at all → exit 1).
 */
export function resolveTargets(s: SimState, target: string, reverse = false): string[] {
  const jails = listJails(s);
  if (/^[aA][lL][lL]$/.test(target)) {
    if (jails.length === 0) process.exit(1);
    return byPriority(s, jails, reverse);
  }
  if (!jails.includes(target) && /^[0-9]+$/.test(target)) {
    const r = findRunning(s, target);
    if (r !== undefined) return [r[0]];
    fail(`Error: JID "${target}" not found. Is jail running?`);
  }
  if (jails.includes(target)) return [target];
  const auto = jails.filter((j) => j.startsWith(target));
  if (auto.length === 1) return auto;
  if (auto.length > 1) fail(`Multiple jails found for ${target}:\n${auto.join('\n')}`);
  const tagged = jails.filter((j) => {
    try {
      return wordIn(target, readFileSync(join(jailsDir(s), j, 'tags'), 'utf8'));
    } catch {
      return false;
    }
  });
  if (tagged.length > 0) return byPriority(s, tagged, reverse);
  fail(`Jail not found "${target}"\n`);
}

function list(argv: string[]): void {
  if (argv[0] === 'jails' || argv[0] === 'jail' || argv[0] === 'j') {
    withState((s) => {
      for (const j of listJails(s)) process.stdout.write(`${j}\n`);
    });
    return;
  }
  fail('Usage: bastille list [option(s)] [RELEASE (-p)] [template] [JAIL|CONTAINER] [log] [limit] [import] [export] [backup]');
}

export function runBastille(argv: string[]): void {
  logCall('bastille', argv);
  const first = argv[0] ?? '';
  if (first === '-h' || first === '--help') {
    process.stdout.write(MAIN_USAGE);
    process.exit(1);
  }
  if (first === '-v' || first === '--version' || first === 'version') {
    process.stderr.write('1.4.4\n');
    process.exit(0);
  }
  if (first.startsWith('-')) fail(`Unknown Option: "${first}"`);
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'create':
      return runCreate(rest);
    case 'start':
      return runStart(rest);
    case 'stop':
      return runStop(rest);
    case 'restart':
      return runRestart(rest);
    case 'config':
      return runConfig(rest);
    case 'destroy':
    case 'destory':
      return runDestroy(rest);
    case 'list':
      return list(rest);
    default:
      // the real dispatcher knows 39 commands; the simulator only the ones the adapter and its tests use
      process.stdout.write(MAIN_USAGE);
      process.exit(1);
  }
}
