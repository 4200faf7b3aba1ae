/**
 * metrics(http): the daemons' observability endpoints on one plain HTTP
 * listener (loopback by default; docs/metrics.md):
 *
 *   GET /metrics   the registry in Prometheus text format 0.0.4
 *   GET /healthz   200 "ok" while the process serves at all
 *   GET /readyz    200 "ready", or 503 with the reasons it is not
 *
 * HEAD works as GET without a body; other methods get 405, other paths 404.
 * Nothing here is secret beyond unit ids, but nothing is authenticated
 * either: bind it to loopback or to a network only the scraper reaches.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ListenAddress } from '../../bus-schemas/observability-config.js';
import type { PromMetrics } from './prom-metrics.js';

/** Why the daemon is not ready; empty when it is. */
export type Readiness = () => Promise<string[]>;

export interface MetricsEndpoints {
  /** e.g. http://127.0.0.1:9464/metrics (the bound port, when 0 was asked for) */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The endpoints could not be opened (address in use, no such address). */
export class MetricsListenError extends Error {
  override name = 'MetricsListenError';
  constructor(readonly address: string, readonly reason: string, options?: { cause?: unknown }) {
    super(`metrics(http): cannot listen on ${address}: ${reason}`, options);
  }
}

const TEXT = 'text/plain; charset=utf-8';

function send(res: ServerResponse, head: boolean, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  // One request per connection: a scrape every few seconds costs nothing, and no client ever races a keep-alive timeout.
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body), connection: 'close', ...extra });
  res.end(head ? undefined : body);
}

async function answer(req: IncomingMessage, res: ServerResponse, registry: Registry, readiness: Readiness): Promise<void> {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) return send(res, false, 405, TEXT, 'method not allowed\n', { allow: 'GET, HEAD' });
  const path = (req.url ?? '/').split('?')[0];
  switch (path) {
    case '/metrics':
      return send(res, head, 200, registry.contentType, await registry.metrics());
    case '/healthz':
      return send(res, head, 200, TEXT, 'ok\n');
    case '/readyz': {
      const reasons = await readiness();
      return reasons.length === 0 ? send(res, head, 200, TEXT, 'ready\n') : send(res, head, 503, TEXT, `not ready: ${reasons.join('; ')}\n`);
    }
    default:
      return send(res, head, 404, TEXT, 'not found: try /metrics, /healthz or /readyz\n');
  }
}

/** Listen on `listen` (port 0: any free port) and log the bound URL ("metrics listening"). */
export async function startMetricsServer(opts: { listen: ListenAddress; registry: Registry; readiness: Readiness; log: Logger }): Promise<MetricsEndpoints> {
  const server = createServer((req, res) => {
    answer(req, res, opts.registry, opts.readiness).catch((e: unknown) => {
      opts.log.warn({ err: e, path: req.url?.slice(0, 100) }, 'metrics endpoint failed');
      if (!res.headersSent) send(res, false, 500, TEXT, 'internal error\n');
      else res.destroy();
    });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  const host = opts.listen.host.includes(':') ? `[${opts.listen.host}]` : opts.listen.host;
  const shown = `${host}:${opts.listen.port}`;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new MetricsListenError(shown, e.code ?? e.message, { cause: e })));
    server.listen(opts.listen.port, opts.listen.host, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : opts.listen.port;
  const base = `http://${host}:${port}`;
  const url = `${base}/metrics`;
  opts.log.info({ url, healthz: `${base}/healthz`, readyz: `${base}/readyz` }, 'metrics listening');
  return {
    url,
    host: opts.listen.host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A daemon's endpoints: `holonet_ready` tied to `readiness`, then the listener, unless `listen` is null (off). */
export async function serveMetrics(listen: ListenAddress | null, metrics: PromMetrics, readiness: Readiness, log: Logger): Promise<MetricsEndpoints | undefined> {
  metrics.setReadiness(async () => (await readiness()).length === 0);
  return listen === null ? undefined : startMetricsServer({ listen, registry: metrics.registry, readiness, log: log.child({ component: 'metrics' }) });
}
