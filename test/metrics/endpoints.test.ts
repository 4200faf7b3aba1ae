/**
 * The endpoints over real HTTP on a random loopback port: /metrics in the
 * Prometheus text format, /healthz, /readyz following the readiness check,
 * HEAD, 404 and 405, the bound URL logged, a port already in use refused
 * with MetricsListenError; and the readiness helpers.
 */
import t from 'tap';
import { createServer } from 'node:net';
import { pino } from 'pino';
import { createPromMetrics, MetricsListenError, reasonsOf, roundTrip, startMetricsServer } from '../../adapters/metrics/index.js';
import { parsePromText, sampleValue } from './prom-text.js';

function captured(): { log: pino.Logger; lines: () => Record<string, unknown>[] } {
  let text = '';
  const log = pino({ level: 'info' }, { write: (s: string) => void (text += s) });
  return { log, lines: () => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

void t.test('GET /metrics, /healthz, /readyz; HEAD; 404; 405; the URL logged', async (t) => {
  const metrics = createPromMetrics({ daemon: 'holon-orchestrator', version: 'test', maxUnits: 5 });
  let reasons = ['projections not loaded yet', 'nats (serve): no answer'];
  metrics.setReadiness(() => Promise.resolve(reasons.length === 0));
  metrics.refusal('HOLON_E_MALFORMED');
  const { log, lines } = captured();
  const ep = await startMetricsServer({ listen: { host: '127.0.0.1', port: 0 }, registry: metrics.registry, readiness: () => Promise.resolve(reasons), log });
  t.teardown(() => ep.close());
  t.match(ep.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  t.not(ep.port, 0, 'the bound port, not 0');
  const base = ep.url.replace(/\/metrics$/, '');
  t.match(lines().find((l) => l.msg === 'metrics listening'), { url: ep.url, healthz: `${base}/healthz`, readyz: `${base}/readyz` });

  const m = await fetch(ep.url);
  t.equal(m.status, 200);
  t.equal(m.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  t.equal(m.headers.get('connection'), 'close', 'one request per connection');
  const families = parsePromText(await m.text());
  t.equal(sampleValue(families, 'holonet_bus_refusals_total', { code: 'HOLON_E_MALFORMED' }), 1);
  t.equal(sampleValue(families, 'holonet_ready'), 0);

  const h = await fetch(`${base}/healthz`);
  t.same([h.status, await h.text()], [200, 'ok\n']);
  const notReady = await fetch(`${base}/readyz?verbose`);
  t.same([notReady.status, await notReady.text()], [503, 'not ready: projections not loaded yet; nats (serve): no answer\n']);
  reasons = [];
  const ready = await fetch(`${base}/readyz`);
  t.same([ready.status, await ready.text()], [200, 'ready\n']);
  t.equal(sampleValue(parsePromText(await (await fetch(ep.url)).text()), 'holonet_ready'), 1, 'holonet_ready follows');

  const head = await fetch(ep.url, { method: 'HEAD' });
  t.same([head.status, await head.text()], [200, ''], 'HEAD: no body');
  const post = await fetch(ep.url, { method: 'POST', body: 'x' });
  t.same([post.status, post.headers.get('allow')], [405, 'GET, HEAD']);
  await post.text();
  const missing = await fetch(`${base}/metricz`);
  t.equal(missing.status, 404);
  t.match(await missing.text(), /try \/metrics, \/healthz or \/readyz/);
});

void t.test('a readiness check that throws is a 500, and the server keeps serving', async (t) => {
  const metrics = createPromMetrics({ daemon: 'holon-agent', version: 'test', maxUnits: 1 });
  const { log, lines } = captured();
  const ep = await startMetricsServer({ listen: { host: '127.0.0.1', port: 0 }, registry: metrics.registry, readiness: () => Promise.reject(new Error('boom')), log });
  t.teardown(() => ep.close());
  const base = ep.url.replace(/\/metrics$/, '');
  t.equal((await fetch(`${base}/readyz`)).status, 500);
  t.match(lines().find((l) => l.msg === 'metrics endpoint failed'), { path: '/readyz' });
  t.equal((await fetch(`${base}/healthz`)).status, 200);
});

void t.test('an address in use is refused with MetricsListenError naming it', async (t) => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const metrics = createPromMetrics({ daemon: 'holon-agent', version: 'test', maxUnits: 1 });
  await t.rejects(startMetricsServer({ listen: { host: '127.0.0.1', port }, registry: metrics.registry, readiness: () => Promise.resolve([]), log: pino({ level: 'silent' }) }), {
    name: 'MetricsListenError',
    message: `metrics(http): cannot listen on 127.0.0.1:${port}: EADDRINUSE`,
    address: `127.0.0.1:${port}`,
    reason: 'EADDRINUSE',
  });
  t.type(MetricsListenError, 'function');
});

void t.test('readiness helpers: a round trip in time, late, failing; reasons collected', async (t) => {
  t.equal(await roundTrip('nats', () => Promise.resolve()), undefined);
  t.equal(await roundTrip('nats', () => new Promise(() => undefined), 50), 'nats: no answer from the server within 50 ms');
  t.equal(await roundTrip('nats', () => Promise.reject(new Error('connection closed'))), 'nats: connection closed');
  t.same(await reasonsOf([() => undefined, () => 'a', () => Promise.resolve('b'), () => Promise.resolve(undefined)]), ['a', 'b']);
});
