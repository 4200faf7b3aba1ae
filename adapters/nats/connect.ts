/**
 * Connecting to the bus: servers, one way of authenticating (a .creds file,
 * an nkey seed file, or a user JWT + seed), a name, reconnect policy, and a
 * JetStream client + manager. Errors are typed and prefixed `bus(nats): `
 * with the server list; credentials are read here and never logged.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe as subscribeChannel } from 'node:diagnostics_channel';
import { readFile, stat } from 'node:fs/promises';
import { Socket } from 'node:net';
import {
  connect,
  credsAuthenticator,
  jwtAuthenticator,
  nkeyAuthenticator,
  type Authenticator,
  type NatsConnection,
  type NodeConnectionOptions,
} from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { pino, type Logger } from 'pino';
import { BusConfigError, BusConnectError, errorText } from './errors.js';

export interface BusConnectOptions {
  /** One URL or several (a cluster); e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** Connection name shown by the server (`holon-orchestrator cell1…`). */
  name?: string;
  /** A NATS .creds file (user JWT + nkey seed). */
  credsFile?: string;
  /** A file holding a user nkey seed (`SU…`). */
  nkeySeedFile?: string;
  /** A user JWT and its nkey seed, already in memory. */
  jwt?: { jwt: string; seed: Uint8Array };
  /** Keep reconnecting after a disconnect (default true). */
  reconnect?: boolean;
  /** -1 = forever (default). */
  maxReconnectAttempts?: number;
  reconnectTimeWaitMs?: number;
  /** Connect and JetStream API timeout in ms (default 5000). */
  timeoutMs?: number;
  /** Where replies to this connection's requests come back: the user's own inbox prefix (bus-schemas/grants). */
  inboxPrefix?: string;
  /** Open JetStream (default true). A user without `$JS.API` rights connects with false; `js`/`jsm` then throw. */
  jetstream?: boolean;
  logger?: Logger;
}

export interface BusConnection {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** The server list, for error messages. */
  readonly server: string;
  readonly logger: Logger;
  /** Drain and close; resolves when the connection is closed. */
  close(): Promise<void>;
}

/**
 * `logger` with those of `bindings` it does not carry yet. pino writes a key
 * bound twice (by a parent and a child, or a binding and a line's field)
 * twice in the same JSON line, and strict parsers and jq filters then miss it.
 */
export function bindOnce(logger: Logger, bindings: Record<string, unknown>): Logger {
  const bound = logger.bindings();
  const fresh = Object.fromEntries(Object.entries(bindings).filter(([k]) => !Object.hasOwn(bound, k)));
  return Object.keys(fresh).length === 0 ? logger : logger.child(fresh);
}

/** The fields of a log line without the keys `logger` already binds. */
export function unboundFields(logger: Logger, fields: Record<string, unknown>): Record<string, unknown> {
  const bound = logger.bindings();
  return Object.fromEntries(Object.entries(fields).filter(([k]) => !Object.hasOwn(bound, k)));
}

/** The process-wide default: JSON lines on stderr. */
export function defaultBusLogger(): Logger {
  return pino({ name: 'bus(nats)', level: process.env.HOLONET_LOG_LEVEL ?? 'info' }, pino.destination(2));
}

async function readSecretFile(server: string, option: string, path: string, logger: Logger): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    const st = await stat(path);
    if ((st.mode & 0o077) !== 0) logger.warn({ option, path }, 'credentials file is readable by group or others; chmod 600 it');
    bytes = await readFile(path);
  } catch (e) {
    throw new BusConfigError(server, option, `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? errorText(e)})`);
  }
  return new Uint8Array(bytes);
}

async function authenticator(opts: BusConnectOptions, server: string, logger: Logger): Promise<Authenticator | undefined> {
  const given = (['credsFile', 'nkeySeedFile', 'jwt'] as const).filter((k) => opts[k] !== undefined);
  if (given.length > 1) throw new BusConfigError(server, given.join('+'), 'give only one of credsFile, nkeySeedFile, jwt');
  if (opts.credsFile !== undefined) {
    return credsAuthenticator(await readSecretFile(server, 'credsFile', opts.credsFile, logger));
  }
  if (opts.nkeySeedFile !== undefined) {
    const raw = await readSecretFile(server, 'nkeySeedFile', opts.nkeySeedFile, logger);
    const seed = new TextEncoder().encode(new TextDecoder().decode(raw).trim());
    if (seed.length === 0 || seed[0] !== 0x53 /* 'S' */) {
      throw new BusConfigError(server, 'nkeySeedFile', `${opts.nkeySeedFile} does not hold an nkey seed`);
    }
    return nkeyAuthenticator(seed);
  }
  if (opts.jwt !== undefined) return jwtAuthenticator(opts.jwt.jwt, opts.jwt.seed);
  return undefined;
}

function validateServers(servers: string[]): string {
  const display = servers.join(',');
  if (servers.length === 0) throw new BusConfigError('(none)', 'servers', 'at least one server URL is required');
  for (const s of servers) {
    let url: URL;
    try {
      url = new URL(s.includes('://') ? s : `nats://${s}`);
    } catch {
      throw new BusConfigError(display, 'servers', `not a URL: ${JSON.stringify(s)}`);
    }
    if (!['nats:', 'tls:'].includes(url.protocol)) throw new BusConfigError(display, 'servers', `unsupported scheme ${url.protocol} in ${s}`);
    if (url.username !== '' || url.password !== '') {
      throw new BusConfigError(display, 'servers', 'credentials in the URL are not accepted; use credsFile or nkeySeedFile');
    }
  }
  return display;
}

/** The sockets one `connect` call opened, while it runs (`open`): the connection's later reconnects are not collected. */
interface Dial {
  open: boolean;
  sockets: Socket[];
}
const dialling = new AsyncLocalStorage<Dial>();
let watchingSockets = false;

/**
 * nats.js `connect`, closing every socket it opened when it fails. nats.js
 * 3.4 closes a transport only once the server has spoken: after a connect
 * timeout against a server that accepts TCP and never sends INFO, its socket
 * stays open, waiting, and keeps the process alive. The sockets are those
 * Node creates (diagnostics channel `net.client.socket`) within this call's
 * async context, so another connection's sockets are never touched.
 */
async function connectClosingStrays(copts: NodeConnectionOptions): Promise<NatsConnection> {
  if (!watchingSockets) {
    subscribeChannel('net.client.socket', (message) => {
      const dial = dialling.getStore();
      const socket = (message as { socket?: unknown }).socket;
      if (dial?.open === true && socket instanceof Socket) dial.sockets.push(socket);
    });
    watchingSockets = true;
  }
  const dial: Dial = { open: true, sockets: [] };
  try {
    return await dialling.run(dial, () => connect(copts));
  } catch (e) {
    for (const socket of dial.sockets) if (!socket.destroyed) socket.destroy();
    throw e;
  } finally {
    dial.open = false;
    dial.sockets = [];
  }
}

/** Connect, authenticate, and open JetStream. Throws BusConfigError / BusConnectError. */
export async function connectBus(opts: BusConnectOptions): Promise<BusConnection> {
  const servers = Array.isArray(opts.servers) ? opts.servers : [opts.servers];
  const server = validateServers(servers);
  const logger = bindOnce(opts.logger ?? defaultBusLogger(), { component: 'bus(nats)' });
  const timeout = opts.timeoutMs ?? 5000;
  const copts: NodeConnectionOptions = {
    servers,
    timeout,
    reconnect: opts.reconnect ?? true,
    maxReconnectAttempts: opts.maxReconnectAttempts ?? -1,
    reconnectTimeWait: opts.reconnectTimeWaitMs ?? 1000,
    // nats.js otherwise builds an Error (with a stack) for every request up
    // front, just in case it times out: ~6% of the ledger append CPU. Our
    // errors carry the subject and server instead.
    noAsyncTraces: true,
  };
  if (opts.name !== undefined) copts.name = opts.name;
  if (opts.inboxPrefix !== undefined) copts.inboxPrefix = opts.inboxPrefix;
  const auth = await authenticator(opts, server, logger);
  if (auth !== undefined) copts.authenticator = auth;

  let nc: NatsConnection;
  try {
    nc = await connectClosingStrays(copts);
  } catch (e) {
    throw new BusConnectError(server, `cannot connect: ${errorText(e)}`, { cause: e });
  }
  let jsm: JetStreamManager | undefined;
  let js: JetStreamClient | undefined;
  if (opts.jetstream !== false) {
    try {
      jsm = await jetstreamManager(nc, { timeout });
    } catch (e) {
      await nc.close().catch(() => undefined);
      throw new BusConnectError(server, `JetStream unavailable: ${errorText(e)}`, { cause: e });
    }
    js = jetstream(nc, { timeout });
  }
  logger.info(unboundFields(logger, { servers, connection: opts.name, version: nc.info?.version, auth: auth === undefined ? 'none' : 'yes' }), 'connected');
  void watchStatus(nc, logger);
  const noJetStream = (): never => {
    throw new BusConfigError(server, 'jetstream', `connection ${opts.name ?? ''} was opened without JetStream`);
  };
  return {
    nc,
    get js() {
      return js ?? noJetStream();
    },
    get jsm() {
      return jsm ?? noJetStream();
    },
    server,
    logger,
    async close() {
      if (nc.isClosed()) return;
      try {
        await nc.drain();
      } catch {
        await nc.close().catch(() => undefined);
      }
    },
  };
}

async function watchStatus(nc: NatsConnection, logger: Logger): Promise<void> {
  try {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error' || s.type === 'ldm') {
        logger.warn({ event: s.type, server: 'server' in s ? s.server : undefined }, `connection ${s.type}`);
      }
    }
  } catch {
    // status iterator ends with the connection
  }
}
