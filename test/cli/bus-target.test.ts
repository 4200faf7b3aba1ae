/**
 * How a bus command finds its cell (cli/bus-target.ts): flags win over the
 * environment, which wins over the data dir; `--dir` implies the context
 * file `holonctl up` writes and the credential in the dir; with nothing to go
 * on, a usage error that says exactly what to pass.
 */
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readBusContext, resolveBusArgs as resolveWith } from '../../cli/bus-target.js';
import { CliFailure, UsageError } from '../../cli/command.js';
import { forgetContext, recordContext } from '../../cli/commands/up.js';
import type { CellDirFiles } from '../../cli/ports.js';
import { makeTemp } from './init-helpers.js';

/** The files port as cli/main.ts wires it: the disk. */
const files: CellDirFiles = { readText: (p) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined), exists: (p) => existsSync(p) };
const resolveBusArgs = (values: Parameters<typeof resolveWith>[0], env: NodeJS.ProcessEnv): ReturnType<typeof resolveWith> => resolveWith(values, env, files);

const { dir: tmp, remove } = makeTemp('holonet-target-');
t.teardown(remove);

/** A data dir as `holonctl up` leaves it while running: the operator creds and the context file. */
function upDir(name: string, url: string): string {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'nats'), { recursive: true });
  mkdirSync(join(dir, 'up'), { recursive: true });
  writeFileSync(join(dir, 'nats/holonctl.creds'), 'creds');
  recordContext(dir, { url, creds: join(dir, 'nats/holonctl.creds'), inbox_prefix: '_INBOX.hkey1x', description: 'test' });
  return dir;
}

void t.test('the data dir alone: its context file gives the server and the credential', async (t) => {
  const dir = upDir('alone', 'nats://127.0.0.1:4711');
  const a = resolveBusArgs({ dir }, {});
  t.same(a.target, { servers: ['nats://127.0.0.1:4711'], credsFile: join(dir, 'nats/holonctl.creds') });
  t.same(a.from, { dir: 'flag', servers: 'data dir', creds: 'data dir' });
  t.equal(resolveBusArgs({}, { HOLONET_DIR: dir }).target.servers[0], 'nats://127.0.0.1:4711', 'HOLONET_DIR names the dir');
  t.same(resolveBusArgs({}, { HOLONET_DIR: dir }).from.dir, 'env');
});

void t.test('flags win over the environment, which wins over the data dir', async (t) => {
  const dir = upDir('order', 'nats://127.0.0.1:1001');
  const env = { HOLONET_DIR: dir, HOLONET_SERVER: 'nats://10.0.0.2:4222,nats://10.0.0.3:4222', HOLONET_CREDS: '/etc/holonet/env.creds' };
  const byEnv = resolveBusArgs({}, env);
  t.same(byEnv.target, { servers: ['nats://10.0.0.2:4222', 'nats://10.0.0.3:4222'], credsFile: '/etc/holonet/env.creds' });
  t.same(byEnv.from, { dir: 'env', servers: 'env', creds: 'env' });
  const byFlags = resolveBusArgs({ server: ['nats://10.0.0.9:4222'], creds: 'flag.creds' }, env);
  t.same(byFlags.target, { servers: ['nats://10.0.0.9:4222'], credsFile: resolve('flag.creds') });
  t.same(byFlags.from, { dir: 'env', servers: 'flag', creds: 'flag' });
  const other = join(tmp, 'other');
  t.equal(resolveBusArgs({ dir: other, server: ['nats://h:1'] }, env).dir, other, '--dir wins over HOLONET_DIR');
  t.same(resolveBusArgs({ server: ['nats://h:1'] }, { HOLONET_DIR: dir }).target.credsFile, join(dir, 'nats/holonctl.creds'), 'a --server alone still takes the data dir’s credential');
  t.same(resolveBusArgs({}, { ...env, HOLONET_SERVER: '  ' }).from.servers, 'data dir', 'an empty variable is unset');
});

void t.test('--dir implies its credential even with no context file', async (t) => {
  const dir = join(tmp, 'init-only');
  mkdirSync(join(dir, 'nats'), { recursive: true });
  writeFileSync(join(dir, 'nats/holonctl.creds'), 'creds');
  t.same(resolveBusArgs({ dir, server: ['nats://h:4222'] }, {}).target, { servers: ['nats://h:4222'], credsFile: join(dir, 'nats/holonctl.creds') });
  const bare = join(tmp, 'bare');
  mkdirSync(bare);
  t.same(resolveBusArgs({ dir: bare, server: ['nats://h:4222'] }, {}).target, { servers: ['nats://h:4222'] }, 'no credential at all: none is sent');
});

void t.test('nothing to go on: a usage error saying what to pass', async (t) => {
  const missing = join(tmp, 'nowhere');
  const e = t.throws(() => resolveBusArgs({ dir: missing }, {})) as unknown;
  t.ok(e instanceof UsageError, 'a usage error (exit 2)');
  t.equal(
    (e as Error).message,
    `no NATS server: pass --server <url> (and --creds <file>), or set HOLONET_SERVER (and HOLONET_CREDS), or run holonctl up, which records its server in ${missing}/up/context.json; and there is no data dir ${missing} (from --dir): pass --dir <path> or set HOLONET_DIR`,
  );
  const exists = join(tmp, 'bare');
  t.equal((t.throws(() => resolveBusArgs({}, { HOLONET_DIR: exists })) as Error).message, `no NATS server: pass --server <url> (and --creds <file>), or set HOLONET_SERVER (and HOLONET_CREDS), or run holonctl up, which records its server in ${exists}/up/context.json`);
  t.throws(() => resolveBusArgs({ dir: '' }, {}), { message: '--dir must not be empty' });
  t.throws(() => resolveBusArgs({ server: [' , '] }, {}), { message: /--server must name a URL/ });
});

void t.test('the context file: nats CLI field names, read strictly, removed only by the up that wrote it', async (t) => {
  const dir = upDir('ctx', 'nats://127.0.0.1:2002');
  t.same(JSON.parse(readFileSync(join(dir, 'up/context.json'), 'utf8')), { description: 'test', url: 'nats://127.0.0.1:2002', creds: join(dir, 'nats/holonctl.creds'), inbox_prefix: '_INBOX.hkey1x' }, 'every field named');
  t.equal((statSync(join(dir, 'up/context.json')).mode & 0o777).toString(8), '600');
  t.same(readBusContext(dir, files), { url: 'nats://127.0.0.1:2002', creds: join(dir, 'nats/holonctl.creds'), inbox_prefix: '_INBOX.hkey1x' });
  forgetContext(dir, 'nats://127.0.0.1:9999');
  t.ok(readBusContext(dir, files), 'another up’s file stays');
  forgetContext(dir, 'nats://127.0.0.1:2002');
  t.equal(readBusContext(dir, files), undefined, 'removed');
  writeFileSync(join(dir, 'up/context.json'), '{"url":"nats://a:1","url":"nats://b:2"}');
  const e = t.throws(() => resolveBusArgs({ dir }, {})) as Error;
  t.ok(e instanceof CliFailure, 'a broken context file is a failure (exit 1), not a usage error');
  t.match(e.message, `${dir}/up/context.json: not a context file`);
  writeFileSync(join(dir, 'up/context.json'), JSON.stringify({ description: 'copied from nats context', url: 'nats://c:3', creds: 'nats/holonctl.creds', token: '' }));
  t.same(resolveBusArgs({ dir }, {}).target, { servers: ['nats://c:3'], credsFile: join(dir, 'nats/holonctl.creds') }, 'other fields ignored; a relative creds path is the data dir’s');
});

void t.test('without a files port: flags and the environment only', async (t) => {
  const dir = upDir('no-port', 'nats://127.0.0.1:3003');
  t.same(resolveWith({ dir, server: ['nats://h:1'] }, {}, undefined).target, { servers: ['nats://h:1'] }, 'no file is read');
  t.throws(() => resolveWith({ dir }, {}, undefined), UsageError);
});
