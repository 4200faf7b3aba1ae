/**
 * Where a bus command finds its cell. Each of the data dir, the NATS servers
 * and the credential comes from (first that is set) its flag, its
 * environment variable, or the data dir:
 *
 *   data dir   --dir      HOLONET_DIR      ./.holonet
 *   servers    --server   HOLONET_SERVER   <dir>/up/context.json "url" (written by holonctl up)
 *   creds      --creds    HOLONET_CREDS    <dir>/up/context.json "creds", else <dir>/nats/holonctl.creds
 *
 * The context file uses the field names of a nats CLI context (ADR-21:
 * `description`, `url` — comma-separated servers —, `creds`, `inbox_prefix`);
 * other fields are ignored. `holonctl up` writes it once its nats-server is
 * ready and removes it when it stops. Files are read through the CellDirFiles
 * port (cli/main.ts reads them from disk); without it, flags and the
 * environment are all there is.
 */
import { join, resolve } from 'node:path';
import { HolonError } from '../bus-schemas/errors.js';
import { decodeJson } from '../bus-schemas/wire.js';
import { CliFailure, UsageError } from './command.js';
import type { BusTarget, CellDirFiles } from './ports.js';

export const DEFAULT_DIR = '.holonet';
/** Relative to the data dir. */
export const CONTEXT_FILE = 'up/context.json';
export const OPERATOR_CREDS = 'nats/holonctl.creds';

export const BUS_OPTIONS = { server: { type: 'string', multiple: true }, creds: { type: 'string' }, dir: { type: 'string' } } as const;

/** The options text every bus command's --help shares. */
export const BUS_HELP = `  --server <url>   NATS server (repeat, or comma-separate); default
                   $HOLONET_SERVER, else the server holonctl up recorded in
                   <dir>/${CONTEXT_FILE}
  --creds <file>   NATS .creds file; default $HOLONET_CREDS, else the one in
                   <dir>/${CONTEXT_FILE}, else <dir>/${OPERATOR_CREDS}
  --dir <path>     the holonctl init data directory; default $HOLONET_DIR,
                   else ./${DEFAULT_DIR}`;

export type Source = 'flag' | 'env' | 'data dir' | 'default';

export interface BusArgs {
  target: BusTarget;
  /** absolute */
  dir: string;
  /** where each came from, for error messages */
  from: { dir: Source; servers: Source; creds: Source | 'none' };
}

/** What `holonctl up` records about its running cell (a nats CLI context's fields). */
export interface BusContext {
  url: string;
  creds?: string;
  inbox_prefix?: string;
  description?: string;
}

function splitServers(list: readonly string[]): string[] {
  return list.flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

/** A context file's text → what holonctl uses of it (a relative creds path is the data dir's). Throws CliFailure naming `file`. */
export function parseBusContext(text: string, file: string, dir: string): BusContext {
  let json: unknown;
  try {
    json = decodeJson(text, file, 64 * 1024);
  } catch (e) {
    throw new CliFailure(`${file}: not a context file (${(e as Error).message}); remove it, or run holonctl up again`);
  }
  const c = json as Partial<Record<keyof BusContext, unknown>>;
  const str = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
  if (typeof json !== 'object' || json === null || Array.isArray(json) || !str(c.url)) {
    throw new CliFailure(`${file}: not a context file (expected an object with a "url"); remove it, or run holonctl up again`);
  }
  return { url: c.url, ...(str(c.creds) ? { creds: resolve(dir, c.creds) } : {}), ...(str(c.inbox_prefix) ? { inbox_prefix: c.inbox_prefix } : {}) };
}

/** The text `holonctl up` writes: every field named, as nats CLI contexts do. */
export function renderBusContext(context: BusContext): string {
  const doc = { description: context.description ?? '', url: context.url, creds: context.creds ?? '', inbox_prefix: context.inbox_prefix ?? '' };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** The context file of `dir`, or undefined if there is none. A file that is there but unusable is an error naming it. */
export function readBusContext(dir: string, files: CellDirFiles | undefined): BusContext | undefined {
  const file = join(dir, CONTEXT_FILE);
  let text: string | undefined;
  try {
    text = files?.readText(file);
  } catch (e) {
    throw new CliFailure(`${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return text === undefined ? undefined : parseBusContext(text, file, dir);
}

/** The data dir alone: --dir, HOLONET_DIR, ./.holonet. */
export function resolveDir(flag: string | undefined, env: NodeJS.ProcessEnv): { dir: string; from: Source } {
  if (flag === '') throw new UsageError('--dir must not be empty');
  if (flag !== undefined) return { dir: resolve(flag), from: 'flag' };
  const fromEnv = envValue(env, 'HOLONET_DIR');
  if (fromEnv !== undefined) return { dir: resolve(fromEnv), from: 'env' };
  return { dir: resolve(DEFAULT_DIR), from: 'default' };
}

function dirHint(dir: string, from: Source): string {
  return `${dir} (${from === 'flag' ? 'from --dir' : from === 'env' ? 'from HOLONET_DIR' : `./${DEFAULT_DIR}, the default`})`;
}

/** Servers, credential and data dir of a bus command: flags, then the environment, then the data dir. */
export function resolveBusArgs(values: { server?: string[]; creds?: string; dir?: string }, env: NodeJS.ProcessEnv, files: CellDirFiles | undefined): BusArgs {
  const { dir, from: dirFrom } = resolveDir(values.dir, env);
  let context: BusContext | undefined;
  const contextOf = (): BusContext | undefined => (context ??= readBusContext(dir, files));

  let servers: string[];
  let serversFrom: Source;
  if (values.server !== undefined) {
    servers = splitServers(values.server);
    serversFrom = 'flag';
    if (servers.length === 0) throw new UsageError('--server must name a URL, e.g. --server nats://127.0.0.1:4222');
  } else if (envValue(env, 'HOLONET_SERVER') !== undefined) {
    servers = splitServers([env.HOLONET_SERVER as string]);
    serversFrom = 'env';
  } else {
    const c = contextOf();
    servers = c === undefined ? [] : splitServers([c.url]);
    serversFrom = 'data dir';
  }
  if (servers.length === 0) {
    const missing = files === undefined || files.exists(dir) ? '' : `; and there is no data dir ${dirHint(dir, dirFrom)}: pass --dir <path> or set HOLONET_DIR`;
    throw new UsageError(
      `no NATS server: pass --server <url> (and --creds <file>), or set HOLONET_SERVER (and HOLONET_CREDS), or run holonctl up, which records its server in ${join(dir, CONTEXT_FILE)}${missing}`,
    );
  }

  let creds: string | undefined;
  let credsFrom: Source | 'none' = 'none';
  if (values.creds !== undefined) {
    if (values.creds === '') throw new UsageError('--creds must not be empty');
    creds = resolve(values.creds);
    credsFrom = 'flag';
  } else if (envValue(env, 'HOLONET_CREDS') !== undefined) {
    creds = resolve(env.HOLONET_CREDS as string);
    credsFrom = 'env';
  } else {
    const fromContext = contextOf()?.creds;
    const inDir = join(dir, OPERATOR_CREDS);
    creds = fromContext ?? (files?.exists(inDir) === true ? inDir : undefined);
    if (creds !== undefined) credsFrom = 'data dir';
  }
  return { target: { servers, ...(creds !== undefined ? { credsFile: creds } : {}) }, dir, from: { dir: dirFrom, servers: serversFrom, creds: credsFrom } };
}

/** A connection failure, with where the server came from when that helps (the data dir's context file, HOLONET_SERVER). */
export function withConnectHint(e: unknown, a: BusArgs): unknown {
  const hint =
    a.from.servers === 'data dir'
      ? `the server is the one holonctl up recorded in ${join(a.dir, CONTEXT_FILE)}: is that holonctl up still running? (or pass --server)`
      : a.from.servers === 'env'
        ? 'the server is HOLONET_SERVER'
        : '';
  if (hint === '' || !(e instanceof HolonError) || e.code !== 'HOLON_E_BUS_CONNECT') return e;
  return new HolonError(e.code, `${e.message}; ${hint}`, { cause: e });
}
