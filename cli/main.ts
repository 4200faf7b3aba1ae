#!/usr/bin/env node
/**
 * holonctl composition root: the only cli/ file that imports adapters. It
 * wires the command ports to NATS and hands control to the dispatcher.
 */
import { packageVersion } from '../adapters/release/package-version.js';
import { existsSync, readFileSync } from 'node:fs';
import { pino } from 'pino';
import { connectBus } from '../adapters/nats/connect.js';
import {
  createNkeySeed,
  encodeCellAccountJwt,
  encodeOperatorJwt,
  encodeSystemAccountJwt,
  inboxPrefixFromCreds,
  mintUser,
  nkeyPublic,
  renderServerAuthConfig,
  writeFileExclusive,
} from '../adapters/nats/credentials.js';
import { declareStreams } from '../adapters/nats/declare.js';
import { BadReplyError } from '../adapters/nats/errors.js';
import { openLedgerReplay } from '../adapters/nats/ledger-replay.js';
import { requestSigned } from '../adapters/nats/request-reply.js';
import { TpmAttestor } from '../adapters/tpm/index.js';
import { SealError } from '../bus-schemas/errors.js';
import { bootstrapGrant } from '../bus-schemas/grants.js';
import type { PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { holonetStreams } from '../bus-schemas/streams.js';
import { ekHash, parseTpm2bPublic } from '../bus-schemas/tpm/index.js';
import type { CliIo } from './command.js';
import type { InitPorts } from './commands/init.js';
import type { UpPorts } from './commands/up.js';
import { ResponderMismatchError, type BusTarget, type CellClient, type CliPorts, type LedgerSource } from './ports.js';
import { runCli } from './run.js';

const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env };

// Operator tools print results on stdout; the bus only speaks up on stderr when something is wrong.
const logger = pino({ name: 'holonctl', level: process.env.HOLONET_LOG_LEVEL ?? 'warn' }, pino.destination(2));

/** The inbox prefix a .creds file's user may subscribe to (undefined: the default inbox). */
function inboxOf(credsFile: string | undefined): string | undefined {
  if (credsFile === undefined) return undefined;
  try {
    return inboxPrefixFromCreds(readFileSync(credsFile, 'utf8'));
  } catch {
    return undefined; // unreadable: connectBus says so, with the path
  }
}

/** One short-lived, non-reconnecting bus connection for a command, listening on the inbox its credential owns. */
async function connectTarget(target: BusTarget): ReturnType<typeof connectBus> {
  const inbox = target.inboxPrefix ?? inboxOf(target.credsFile);
  return connectBus({
    servers: target.servers,
    name: 'holonctl',
    reconnect: false,
    logger,
    ...(target.credsFile !== undefined ? { credsFile: target.credsFile } : {}),
    ...(inbox !== undefined ? { inboxPrefix: inbox } : {}),
  });
}

/** bus-schemas/seal.ts's reason for a seal by another key than the one expected. */
const WRONG_SEALER = /^sealed by (hkey1[02-9ac-hj-np-z]+), expected (hkey1[02-9ac-hj-np-z]+)$/;

/** The adapter's bad reply that is a valid answer sealed by the wrong key (another cell's) → ResponderMismatchError. */
function responderMismatch(e: unknown, subject: string): unknown {
  if (!(e instanceof BadReplyError) || !(e.cause instanceof SealError)) return e;
  const m = WRONG_SEALER.exec(e.cause.reason);
  if (m === null) return e;
  return new ResponderMismatchError(subject, m[1] as PublicKeyIdV1, m[2] as PublicKeyIdV1, e.message, { cause: e });
}


const ports: CliPorts & InitPorts & UpPorts = {
  version: packageVersion(),
  files: {
    readText(path) {
      try {
        return readFileSync(path, 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        throw e;
      }
    },
    exists: (path) => existsSync(path),
  },
  async openLedgerSource(target: BusTarget): Promise<LedgerSource> {
    const conn = await connectTarget(target);
    return {
      // Read-only gets: the operator's credential may not create consumers (bus-schemas/grants).
      replay: (opts) => openLedgerReplay(conn, { via: 'get', ...(opts.since === undefined ? {} : { since: opts.since }) }),
      close: () => conn.close(),
    };
  },
  async openCellClient(target: BusTarget): Promise<CellClient> {
    const conn = await connectTarget(target);
    return {
      async request(opts) {
        try {
          return await requestSigned(conn, opts);
        } catch (e) {
          throw responderMismatch(e, opts.subject);
        }
      },
      subscribe(subject, onMessage) {
        const sub = conn.nc.subscribe(subject, { callback: (err, m) => void (err === null && onMessage(m.data)) });
        return { ready: conn.nc.flush(), drain: async () => void (await conn.nc.flush()), close: () => sub.unsubscribe() };
      },
      close: () => conn.close(),
    };
  },
  natsTrust: {
    createSeed: createNkeySeed,
    publicKey: (seed, kind) => nkeyPublic(seed, kind),
    operatorJwt: encodeOperatorJwt,
    systemAccountJwt: encodeSystemAccountJwt,
    cellAccountJwt: encodeCellAccountJwt,
    bootstrapCreds: async (seeds) => (await mintUser(seeds, bootstrapGrant())).creds,
    serverAuthConfig: renderServerAuthConfig,
  },
  writeFileExclusive,
  // holonctl up: the local cell's own NATS users (everything in the cell account), its streams, its TPM.
  mintCellUser: async (seeds, grant) => (await mintUser(seeds, grant)).creds,
  async declareStreams(target) {
    const inbox = inboxOf(target.credsFile);
    const conn = await connectBus({ servers: target.servers, name: 'holonctl up', reconnect: false, logger, credsFile: target.credsFile, ...(inbox !== undefined ? { inboxPrefix: inbox } : {}) });
    try {
      await declareStreams(conn, holonetStreams());
    } finally {
      await conn.close();
    }
  },
  async readEk(tcti, stateDir) {
    const id = await new TpmAttestor({ stateDir, tcti }).provision();
    return { ekSha256: ekHash(parseTpm2bPublic(id.ekPublic)) };
  },
};

// `holonctl … | head`: a reader that went away is not an error of ours.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}
process.exitCode = await runCli(process.argv.slice(2), io, ports);
// A command is done when runCli returns: nothing it left behind (a socket of a half-open connection,
// a timer) may keep holonctl running. Exit once what it wrote has gone out (pipes are asynchronous on FreeBSD).
await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((done) => s.write('', () => done()))));
process.exit();
