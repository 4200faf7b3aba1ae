/**
 * Shared set-up for the bus tests: a real nats-server per test file, a
 * connection with a logger whose lines the test can read, and clean-up.
 */
import { Writable } from 'node:stream';
import type { Test } from 'tap';
import { pino, type Logger } from 'pino';
import { connectBus, type BusConnection, type BusConnectOptions } from '../../adapters/nats/connect.js';
import { startNatsServer, type NatsServer, type NatsServerOptions } from '../harness/nats-server.js';

/** A pino logger that keeps its JSON lines in memory. */
export function captureLogger(level = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

export interface BusFixture {
  server: NatsServer;
  log: string[];
  logger: Logger;
  connect(extra?: Partial<BusConnectOptions>): Promise<BusConnection>;
}

/** Start a server for this test file; everything is stopped in teardown. */
export async function busFixture(t: Test, opts: NatsServerOptions = {}): Promise<BusFixture> {
  const server = await startNatsServer(opts);
  const { logger, lines } = captureLogger();
  const conns: BusConnection[] = [];
  t.teardown(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await server.stop();
  });
  return {
    server,
    log: lines,
    logger,
    async connect(extra = {}) {
      const c = await connectBus({ servers: server.url, name: 'holonet-test', logger, ...extra });
      conns.push(c);
      return c;
    },
  };
}
