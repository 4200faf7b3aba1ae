#!/usr/bin/env node
/**
 * A fake Bitwarden CLI (`bw`) for the Vaultwarden store's tests: no live
 * Vaultwarden here. It reproduces, from bitwarden/clients apps/cli, the parts
 * the adapter uses:
 *
 * - global flags --nointeraction --pretty --raw --response --quiet --cleanexit
 *   (--session <key> is refused: the adapter must pass BW_SESSION by env);
 * - `status` → {"serverUrl","lastSync","userEmail","userId","status"} (keys
 *   whose value is undefined are left out, as JSON.stringify does), exit 0;
 * - `list items [--search s] [--folderid id|null|notnull] [--trash]` → a JSON
 *   array of items (CipherResponse: object "item", id, organizationId,
 *   folderId, type, reprompt, name, notes, favorite, fields[{name,value,type,
 *   linkedId}], login|secureNote, collectionIds, revisionDate, creationDate,
 *   deletedDate); search is case-insensitive over name, login username and id,
 *   and leaves out deleted items unless --trash;
 * - `list folders [--search s]` → [{object:"folder", id, name}], with bw's
 *   "No Folder" pseudo-folder (id null);
 * - `get item <id|name>` → one item (by name: the first exact name, else a
 *   unique substring match); "Not found." or "More than one result was
 *   found. …" on stderr, exit 1;
 * - auth: not logged in → "You are not logged in." exit 1; logged in but
 *   BW_SESSION missing or not the vault's session key → status "locked", and
 *   with --nointeraction "Vault is locked." exit 1;
 * - output: compact JSON on stdout without a final newline (stdout is a pipe),
 *   errors as one message line on stderr; BW_RESPONSE=true/--response wraps
 *   both as {"success":…}.
 *
 * State lives in $BITWARDENCLI_APPDATA_DIR/fake-vault.json (where the real
 * bw keeps its data.json). Every call appends {argv, env: [names]} to
 * $BITWARDENCLI_APPDATA_DIR/fake-bw.log: argument values and variable NAMES
 * only, so tests can check what the session touched without the log holding it.
 * Test-only knobs in the state: `sleepMs` (delay before answering),
 * `garbleStdout` (print a non-JSON line instead of a result), `hideOnGet`
 * (ids that `get item` reports "Not found.", a deletion between list and get).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface FakeField {
  name: string | null;
  value: string | null;
  type: number;
  linkedId?: number | null;
}

interface FakeItem {
  id: string;
  name: string;
  type?: number;
  folderId?: string | null;
  organizationId?: string | null;
  collectionIds?: string[];
  notes?: string | null;
  fields?: FakeField[] | null;
  login?: { username?: string | null; password?: string | null; uris?: unknown[]; totp?: string | null } | null;
  deletedDate?: string | null;
}

export interface FakeVault {
  serverUrl: string | null;
  userEmail?: string;
  userId?: string;
  loggedIn: boolean;
  sessionKey: string;
  lastSync?: string | null;
  folders: Array<{ id: string; name: string }>;
  items: FakeItem[];
  sleepMs?: number;
  garbleStdout?: boolean;
  hideOnGet?: string[];
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const argv = process.argv.slice(2);
const appData = process.env.BITWARDENCLI_APPDATA_DIR;
if (appData === undefined || appData === '') {
  process.stderr.write('fake bw: BITWARDENCLI_APPDATA_DIR must point at a directory with fake-vault.json\n');
  process.exit(2);
}
appendFileSync(join(appData, 'fake-bw.log'), `${JSON.stringify({ argv, env: Object.keys(process.env).sort() })}\n`, { mode: 0o600 });
const vault = JSON.parse(readFileSync(join(appData, 'fake-vault.json'), 'utf8')) as FakeVault;

const flags = { nointeraction: process.env.BW_NOINTERACTION === 'true', pretty: process.env.BW_PRETTY === 'true', response: process.env.BW_RESPONSE === 'true', quiet: process.env.BW_QUIET === 'true', cleanexit: process.env.BW_CLEANEXIT === 'true', raw: false };
const positional: string[] = [];
const options = new Map<string, string | true>();
const WITH_VALUE = new Set(['--search', '--folderid', '--collectionid', '--organizationid', '--url', '--itemid', '--session']);

function json(v: unknown): string {
  return flags.pretty ? JSON.stringify(v, null, '  ') : JSON.stringify(v);
}

function write(s: string): void {
  // bw's writeLn: no final newline when stdout is not a TTY.
  process.stdout.write(process.stdout.isTTY ? `${s}\n` : s);
}

function fail(message: string): never {
  if (!flags.quiet) {
    if (flags.response) write(json({ success: false, message }));
    else process.stderr.write(`${message}\n`);
  }
  process.exit(flags.cleanexit ? 0 : 1);
}

function succeed(data: unknown, object: 'template' | 'list' | 'other'): never {
  if (vault.garbleStdout === true) {
    write('Syncing complete. {not json');
    process.exit(0);
  }
  if (flags.response) write(json({ success: true, data: object === 'list' ? { object: 'list', data } : data }));
  else if (!flags.quiet) write(json(data));
  process.exit(0);
}

for (let i = 0; i < argv.length; i++) {
  const a = argv[i] as string;
  if (a.startsWith('--')) {
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (WITH_VALUE.has(name)) {
      const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) fail(`error: option '${name} <value>' argument missing`);
      options.set(name, value);
    } else if (['--nointeraction', '--pretty', '--raw', '--response', '--quiet', '--cleanexit', '--trash'].includes(name)) {
      options.set(name, true);
    } else {
      fail(`error: unknown option '${a}'`);
    }
  } else {
    positional.push(a);
  }
}
if (options.has('--nointeraction')) flags.nointeraction = true;
if (options.has('--pretty')) flags.pretty = true;
if (options.has('--response')) flags.response = true;
if (options.has('--quiet')) flags.quiet = true;
if (options.has('--cleanexit')) flags.cleanexit = true;
if (options.has('--raw')) flags.raw = true;
if (options.has('--session')) {
  fail('fake bw: --session is refused here: the session key must come in BW_SESSION (argv is visible to every user in ps)');
}

const sessionOk = process.env.BW_SESSION !== undefined && process.env.BW_SESSION === vault.sessionKey;
const status = !vault.loggedIn ? 'unauthenticated' : sessionOk ? 'unlocked' : 'locked';

function exitIfLocked(): void {
  if (!vault.loggedIn) fail('You are not logged in.');
  if (status === 'locked') {
    if (flags.nointeraction) fail('Vault is locked.');
    fail('fake bw: the real bw would prompt for the master password here (pass --nointeraction)');
  }
}

function itemView(it: FakeItem): Record<string, unknown> {
  const type = it.type ?? 2;
  const view: Record<string, unknown> = {
    passwordHistory: null,
    revisionDate: '2026-05-01T10:00:00.000Z',
    creationDate: '2026-05-01T09:00:00.000Z',
    deletedDate: it.deletedDate ?? null,
    object: 'item',
    id: it.id,
    organizationId: it.organizationId ?? null,
    folderId: it.folderId ?? null,
    type,
    reprompt: 0,
    name: it.name,
    notes: it.notes ?? null,
    favorite: false,
  };
  if (it.fields !== undefined && it.fields !== null) view.fields = it.fields.map((f) => ({ name: f.name, value: f.value, type: f.type, linkedId: f.linkedId ?? null }));
  if (type === 1) view.login = { uris: [], username: null, password: null, totp: null, passwordRevisionDate: null, fido2Credentials: [], ...(it.login ?? {}) };
  if (type === 2) view.secureNote = { type: 0 };
  view.collectionIds = it.collectionIds ?? [];
  return view;
}

function searchItems(items: FakeItem[], q: string): FakeItem[] {
  const s = q.trim().toLowerCase();
  return items.filter((it) => it.name.toLowerCase().includes(s) || (it.login?.username ?? '').toLowerCase().includes(s) || it.id.toLowerCase() === s);
}

async function main(): Promise<void> {
  if (vault.sleepMs !== undefined) await new Promise((r) => setTimeout(r, vault.sleepMs));
  const [command, object, id] = positional;
  switch (command) {
    case 'status':
      // TemplateResponse: printed as the template object itself.
      succeed({ serverUrl: vault.serverUrl ?? undefined, lastSync: vault.lastSync ?? null, userEmail: vault.loggedIn ? vault.userEmail : undefined, userId: vault.loggedIn ? vault.userId : undefined, status }, 'template');
      break;
    case 'list': {
      if (!['items', 'folders', 'collections', 'organizations', 'org-collections', 'org-members'].includes(object ?? '')) fail('Unknown object.');
      exitIfLocked();
      const search = options.get('--search');
      if (object === 'folders') {
        let folders = [{ object: 'folder', id: null as string | null, name: 'No Folder' }, ...vault.folders.map((f) => ({ object: 'folder', id: f.id, name: f.name }))];
        if (typeof search === 'string' && search.trim() !== '') folders = folders.filter((f) => f.name.toLowerCase().includes(search.trim().toLowerCase()));
        succeed(folders, 'list');
      }
      if (object !== 'items') succeed([], 'list');
      const trash = options.has('--trash');
      let items = vault.items.filter((it) => (it.deletedDate != null) === trash);
      const folderId = options.get('--folderid');
      if (typeof folderId === 'string') {
        items = items.filter((it) => (folderId === 'notnull' ? it.folderId != null : (it.folderId ?? null) === (folderId === 'null' ? null : folderId)));
      }
      if (typeof search === 'string' && search.trim() !== '') items = searchItems(items, search);
      succeed(items.map(itemView), 'list');
      break;
    }
    case 'get': {
      if (object === undefined || id === undefined) fail("error: missing required argument 'id'");
      if (object !== 'item') fail('fake bw: only `get item` is reproduced');
      exitIfLocked();
      const key = id.toLowerCase();
      if (GUID.test(key)) {
        const it = vault.items.find((i) => i.id.toLowerCase() === key);
        if (it === undefined || (vault.hideOnGet ?? []).includes(it.id)) fail('Not found.');
        succeed(itemView(it), 'other');
      }
      // By name, as bw's GetCommand does: the first exact (case-insensitive) name wins, even when there
      // are several; otherwise a substring search that must be unique. (Why the adapter gets items by id.)
      const live = vault.items.filter((i) => i.deletedDate == null);
      const exact = live.find((i) => i.name.toLowerCase() === key);
      if (exact !== undefined) succeed(itemView(exact), 'other');
      const found = searchItems(live, key);
      if (found.length === 0) fail('Not found.');
      if (found.length > 1) {
        fail(`More than one result was found. Try getting a specific object by \`id\` instead. The following objects were found:\n${found.map((i) => i.id).join('\n')}`);
      }
      succeed(itemView(found[0] as FakeItem), 'other');
      break;
    }
    default:
      process.stderr.write(`Invalid command: ${positional.join(' ')}\nSee --help for a list of available commands.\n`);
      process.exit(1);
  }
}

void main();
