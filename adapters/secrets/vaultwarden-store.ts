/**
 * Tenant secrets from Vaultwarden (or Bitwarden) through the official `bw`
 * CLI; the Bitwarden protocol is not reimplemented.
 *
 * Bucket = the vault item whose name is exactly the tenant id (optionally:
 * inside the folder named `folder`). Its custom fields are the variables:
 * `fields[].name` → `fields[].value`, for text (0), hidden (1) and boolean
 * (2) fields; a linked field (3), a name outside SECRET_NAME_PATTERN, a
 * duplicate name or a NUL in a value is refused. The item's login, notes and
 * other parts are not read.
 *
 * One resolve() runs:
 *   bw status --nointeraction                     → { serverUrl, status: "unlocked" } or refuse
 *   bw list folders --search <folder> --nointeraction   (only with `folder`) → exact name, one id
 *   bw list items --search <tenant> --nointeraction → exact name (and folderId) matches
 *   bw get item <id> --nointeraction              → the item, re-checked (id, name, folder, not deleted)
 * No exact match → undefined; two or more → refused as ambiguous.
 *
 * The bootstrap credential is the session key (BW_SESSION) in `sessionFile`:
 * a regular file of ours, mode 0600 or 0400, re-read on every resolve; it is
 * given to `bw` only in the child's environment, never in argv, and never
 * appears in an error.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { SecretStore, TenantSecrets } from '../../bus-schemas/units/secret-port.js';
import { SECRET_NAME_PATTERN } from '../../bus-schemas/units/secret-port.js';
import { parseBwJson, runBw, type BwRunnerOptions } from './bw-cli.js';
import { setVar } from './dotenv.js';
import { SecretStoreError, type SecretStoreReason } from './secret-store-error.js';
import { checkTenant } from './tenant.js';

export interface VaultwardenSecretStoreOptions {
  /** The `bw` executable: a path, or a name looked up in `path` (default `bw`). */
  bwPath?: string;
  /** Absolute path of the file holding the BW_SESSION key (mode 0600 or 0400, ours). */
  sessionFile: string;
  /** When set, `bw status`'s serverUrl must equal it (trailing slashes ignored). */
  serverUrl?: string;
  /** When set, the tenant's item must be in the folder of this exact name. */
  folder?: string;
  /** BITWARDENCLI_APPDATA_DIR for `bw` (where its logged-in state lives); default: bw's own (~/.config/Bitwarden CLI). */
  appDataDir?: string;
  /** NODE_EXTRA_CA_CERTS for `bw` (a private CA in front of Vaultwarden). */
  extraCaCerts?: string;
  /** PATH for `bw` (default: this process's PATH, else /usr/local/bin:/usr/bin:/bin). */
  path?: string;
  /** Per `bw` call (default 60000 ms); a slower call is killed and refused. */
  timeoutMs?: number;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SESSION_KEY = /^[A-Za-z0-9+/=_-]{16,1024}$/;
const MAX_SESSION_FILE = 4096;
const MAX_OUTPUT = 32 * 1024 * 1024;
/** Field types of a cipher's custom fields (Bitwarden's FieldType). */
const FIELD_TEXT = 0;
const FIELD_HIDDEN = 1;
const FIELD_BOOLEAN = 2;
const FIELD_LINKED = 3;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function normalizeUrl(u: string): string {
  return u.replace(/\/+$/, '');
}

interface Checked {
  bwPath: string;
  sessionFile: string;
  serverUrl: string | undefined;
  folder: string | undefined;
  runner: BwRunnerOptions;
}

function checkOptions(options: VaultwardenSecretStoreOptions): Checked {
  const bad = (detail: string): never => {
    throw new SecretStoreError('vaultwarden', 'config', detail);
  };
  if (!isObject(options)) return bad('options must be an object { sessionFile, … }');
  const absolute = (name: string, v: unknown): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '' || v.includes('\0') || !isAbsolute(v)) return bad(`option ${name}: expected an absolute path`);
    return v;
  };
  const sessionFile = absolute('sessionFile', options.sessionFile) ?? bad('option sessionFile is required (the file holding BW_SESSION)');
  const appDataDir = absolute('appDataDir', options.appDataDir);
  const extraCaCerts = absolute('extraCaCerts', options.extraCaCerts);
  const { bwPath = 'bw', serverUrl, folder, timeoutMs = 60_000 } = options;
  if (typeof bwPath !== 'string' || bwPath === '' || bwPath.includes('\0') || bwPath.startsWith('-')) {
    return bad('option bwPath: expected the path or name of the bw executable');
  }
  if (serverUrl !== undefined && (typeof serverUrl !== 'string' || !/^https?:\/\/[^\s]+$/.test(serverUrl))) {
    return bad('option serverUrl: expected an http(s) URL like https://vault.example.org');
  }
  if (folder !== undefined && (typeof folder !== 'string' || folder === '' || folder.length > 256 || folder.startsWith('-') || /[\0\n\r]/.test(folder))) {
    return bad('option folder: expected a folder name (1–256 characters, not starting with "-", no line breaks)');
  }
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 600_000) {
    return bad(`option timeoutMs: expected an integer from 100 to 600000, got ${String(timeoutMs)}`);
  }
  const path = options.path ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  if (typeof path !== 'string' || path.includes('\0')) return bad('option path: expected a PATH string');
  const env: Record<string, string> = { PATH: path };
  if (process.env.HOME !== undefined) env.HOME = process.env.HOME;
  if (appDataDir !== undefined) env.BITWARDENCLI_APPDATA_DIR = appDataDir;
  if (extraCaCerts !== undefined) env.NODE_EXTRA_CA_CERTS = extraCaCerts;
  return {
    bwPath,
    sessionFile,
    serverUrl: serverUrl === undefined ? undefined : normalizeUrl(serverUrl),
    folder,
    runner: { bwPath, env, timeoutMs, maxOutputBytes: MAX_OUTPUT },
  };
}

/** Create the Vaultwarden store. Nothing is read and `bw` is not run until resolve(). */
export function createVaultwardenSecretStore(options: VaultwardenSecretStoreOptions): SecretStore {
  const cfg = checkOptions(options);
  const me = process.geteuid?.() ?? 0;

  async function readSession(tenant: string): Promise<string> {
    const refuse = (reason: SecretStoreReason, detail: string, cause?: unknown): never => {
      throw new SecretStoreError('vaultwarden', reason, detail, { tenant, cause });
    };
    const file = cfg.sessionFile;
    let fh;
    try {
      fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
    } catch (e) {
      const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : 'error';
      if (code === 'ELOOP' || code === 'EMLINK') return refuse('symlink', `session file ${file} is a symlink; it must be a regular file`, e);
      return refuse('session', `session file ${file} cannot be opened (${code})`, e);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) return refuse('file-type', `session file ${file} is not a regular file`);
      if (st.uid !== me) return refuse('permissions', `session file ${file} is owned by uid ${st.uid}; it must be owned by uid ${me}`);
      if ((st.mode & 0o077) !== 0) {
        const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
        return refuse('permissions', `session file ${file} has mode ${mode}; it must be 0600 or 0400 (chmod 600 ${file})`);
      }
      if (st.size > MAX_SESSION_FILE) return refuse('oversize', `session file ${file} is ${st.size} bytes (at most ${MAX_SESSION_FILE})`);
      const buf = Buffer.alloc(MAX_SESSION_FILE + 1);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      if (bytesRead > MAX_SESSION_FILE) return refuse('oversize', `session file ${file} is larger than ${MAX_SESSION_FILE} bytes`);
      const key = buf.subarray(0, bytesRead).toString('latin1').replace(/\r?\n$/, '');
      buf.fill(0);
      if (!SESSION_KEY.test(key)) return refuse('session', `session file ${file} does not hold a BW_SESSION key (one line of base64, as printed by \`bw unlock --raw\`)`);
      return key;
    } finally {
      await fh.close();
    }
  }

  async function resolve(tenantAsked: string): Promise<TenantSecrets | undefined> {
    const tenant = checkTenant(tenantAsked, 'vaultwarden');
    const refuse = (reason: SecretStoreReason, detail: string): never => {
      throw new SecretStoreError('vaultwarden', reason, detail, { tenant });
    };
    const session = await readSession(tenant);
    const bw = async (args: string[]): Promise<unknown> => {
      const all = [...args, '--nointeraction'];
      const { stdout } = await runBw(cfg.runner, all, session, tenant);
      return parseBwJson(stdout, `bw ${args.join(' ')}`, tenant);
    };

    // 1. Logged in, unlocked by this session, and talking to the configured server.
    const status = await bw(['status']);
    if (!isObject(status) || typeof status.status !== 'string') return refuse('malformed', 'bw status: expected {"status": …}');
    if (status.status === 'unauthenticated') {
      return refuse('unauthenticated', 'bw is not logged in (bw status: "unauthenticated"); run `bw login` on the host');
    }
    if (status.status === 'locked') {
      return refuse('locked', `the vault is locked for this session (bw status: "locked"); write a fresh \`bw unlock --raw\` key to ${cfg.sessionFile}`);
    }
    if (status.status !== 'unlocked') return refuse('malformed', `bw status: unknown status ${JSON.stringify(String(status.status).slice(0, 40))}`);
    if (cfg.serverUrl !== undefined) {
      const actual = typeof status.serverUrl === 'string' ? normalizeUrl(status.serverUrl) : undefined;
      if (actual !== cfg.serverUrl) {
        return refuse('server-mismatch', `bw is configured for ${actual ?? 'the default server (bitwarden.com)'}, not ${cfg.serverUrl}; run \`bw config server ${cfg.serverUrl}\``);
      }
    }

    // 2. The folder, when the buckets live in one.
    let folderId: string | undefined;
    if (cfg.folder !== undefined) {
      const folders = await bw(['list', 'folders', '--search', cfg.folder]);
      if (!Array.isArray(folders)) return refuse('malformed', 'bw list folders: expected a JSON array');
      const named = folders.filter((f): f is Json => isObject(f) && f.name === cfg.folder && typeof f.id === 'string');
      if (named.length === 0) return refuse('config', `folder ${JSON.stringify(cfg.folder)} does not exist in the vault`);
      if (named.length > 1) return refuse('ambiguous', `${named.length} folders are named ${JSON.stringify(cfg.folder)}`);
      folderId = String(named[0]?.id);
      if (!GUID.test(folderId)) return refuse('malformed', 'bw list folders: the folder id is not a GUID');
    }

    // 3. Items named exactly after the tenant (bw's search also matches substrings and other fields).
    // The folder is matched here on each item's folderId rather than with `--folderid`: how bw combines
    // --folderid with --search and its trash/archive filters has changed between versions.
    const items = await bw(['list', 'items', '--search', tenant]);
    if (!Array.isArray(items)) return refuse('malformed', 'bw list items: expected a JSON array');
    const matches: Json[] = [];
    for (const it of items) {
      if (!isObject(it) || typeof it.id !== 'string' || typeof it.name !== 'string') {
        return refuse('malformed', 'bw list items: an element is not an item with a string id and name');
      }
      if (it.name !== tenant) continue;
      if (it.deletedDate !== null && it.deletedDate !== undefined) continue;
      if (folderId !== undefined && it.folderId !== folderId) continue;
      matches.push(it);
    }
    if (matches.length === 0) return undefined;
    if (matches.length > 1) {
      return refuse('ambiguous', `${matches.length} vault items are named ${JSON.stringify(tenant)} (ids ${matches.map((m) => String(m.id)).join(', ')}); keep exactly one`);
    }
    const id = String(matches[0]?.id);
    if (!GUID.test(id)) return refuse('malformed', 'bw list items: the item id is not a GUID');

    // 4. The item itself, by id, checked again.
    const item = await bw(['get', 'item', id]);
    if (!isObject(item)) return refuse('malformed', 'bw get item: expected a JSON object');
    if (typeof item.id !== 'string' || item.id.toLowerCase() !== id.toLowerCase() || item.name !== tenant) {
      return refuse('malformed', `bw get item ${id}: answered with another item`);
    }
    if (item.deletedDate !== null && item.deletedDate !== undefined) return refuse('not-found', `item ${id} was deleted while being read`);
    if (folderId !== undefined && item.folderId !== folderId) return refuse('not-found', `item ${id} left folder ${JSON.stringify(cfg.folder)} while being read`);
    return { tenant, vars: fieldsToVars(item, id, refuse) };
  }

  return { kind: 'vaultwarden', resolve };
}

/** The item's custom fields as variables (see the file comment for the rules). */
function fieldsToVars(item: Json, id: string, refuse: (reason: SecretStoreReason, detail: string) => never): Record<string, string> {
  const vars: Record<string, string> = {};
  const fields = item.fields;
  if (fields === undefined || fields === null) return vars;
  if (!Array.isArray(fields)) return refuse('malformed', `item ${id}: fields is not an array`);
  const seen = new Set<string>();
  fields.forEach((f, i) => {
    if (!isObject(f)) return refuse('malformed', `item ${id}: field #${i + 1} is not an object`);
    const { name, value, type } = f;
    if (typeof name !== 'string' || !SECRET_NAME_PATTERN.test(name)) {
      const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 60)) : String(name);
      return refuse('malformed', `item ${id}: field #${i + 1} name ${shown} is not a variable name (must match ${String(SECRET_NAME_PATTERN)})`);
    }
    if (type === FIELD_LINKED) return refuse('malformed', `item ${id}: field ${name} is a linked field; use a text or hidden field`);
    if (type !== FIELD_TEXT && type !== FIELD_HIDDEN && type !== FIELD_BOOLEAN) {
      return refuse('malformed', `item ${id}: field ${name} has unknown type ${JSON.stringify(type)}`);
    }
    if (value !== null && value !== undefined && typeof value !== 'string') return refuse('malformed', `item ${id}: field ${name} value is not a string`);
    const v = typeof value === 'string' ? value : '';
    if (v.includes('\0')) return refuse('malformed', `item ${id}: field ${name} value contains a NUL byte`);
    if (seen.has(name)) return refuse('malformed', `item ${id}: field ${name} appears twice`);
    seen.add(name);
    setVar(vars, name, v);
  });
  return vars;
}
