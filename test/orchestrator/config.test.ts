/**
 * holon-orchestrator's config: the documented minimal file parses with its
 * defaults (metrics on loopback 9464, JSON logs), and the observability keys
 * (docs/metrics.md, docs/orchestrator.md) are refused with the file, the
 * JSON path and what was expected.
 */
import t from 'tap';
import { ConfigError, parseOrchestratorConfig } from '../../orchestrator/config.js';
import { refuses } from '../helpers/refuses.js';

const MINIMAL = { data_dir: '/var/lib/holonet/cell', nats: { servers: ['nats://127.0.0.1:4222'] } };
const parse = (v: unknown): ReturnType<typeof parseOrchestratorConfig> => parseOrchestratorConfig(JSON.stringify(v), '/etc/holonet/orchestrator.json');

void t.test('the minimal config: every default filled in', async (t) => {
  const c = parse(MINIMAL);
  t.match(c, { dataDir: '/var/lib/holonet/cell', logLevel: 'info', logFormat: 'json', database: '/var/lib/holonet/cell/orchestrator.db', placementOvercommit: 1 });
  t.same(c.metrics, { listen: { host: '127.0.0.1', port: 9464 }, maxUnits: 1000 }, "the orchestrator's loopback default");
});

void t.test('metrics and log_format', async (t) => {
  t.same(parse({ ...MINIMAL, metrics: { listen: 'off' } }).metrics, { listen: null, maxUnits: 1000 }, '"off"');
  t.same(parse({ ...MINIMAL, metrics: { listen: null } }).metrics.listen, null, 'null');
  t.same(parse({ ...MINIMAL, metrics: { listen: '127.0.0.1:0', max_units: 250 } }).metrics, { listen: { host: '127.0.0.1', port: 0 }, maxUnits: 250 }, 'any free port, a smaller cap');
  t.same(parse({ ...MINIMAL, metrics: {} }).metrics.listen, { host: '127.0.0.1', port: 9464 }, 'an empty object keeps the default');
  t.equal(parse({ ...MINIMAL, log_format: 'pretty' }).logFormat, 'pretty');
  t.equal(parse({ ...MINIMAL, log_format: 'journal' }).logFormat, 'journal');
  const cases: [unknown, string, string | RegExp][] = [
    [{ ...MINIMAL, metrics: { listen: ':9464' } }, '$.metrics.listen', /^expected host:port like 127\.0\.0\.1:9464/],
    [{ ...MINIMAL, metrics: { listen: '127.0.0.1:-1' } }, '$.metrics.listen', /^expected host:port/],
    [{ ...MINIMAL, metrics: { listen: '' } }, '$.metrics.listen', 'string shorter than 1'],
    [{ ...MINIMAL, metrics: { max_units: 100_001 } }, '$.metrics.max_units', 'integer above maximum 100000'],
    [{ ...MINIMAL, metrics: 'off' }, '$.metrics', 'expected object, got string'],
    [{ ...MINIMAL, log_format: 'text' }, '$.log_format', 'expected one of json, pretty, journal'],
  ];
  for (const [input, path, reason] of cases) refuses(t, () => parse(input), { code: 'HOLON_E_CONFIG', path, reason }, path);
  const e = refuses(t, () => parse({ ...MINIMAL, log_format: 'text' }), ConfigError);
  t.equal(e?.message, 'config /etc/holonet/orchestrator.json: $.log_format: expected one of json, pretty, journal', 'the exact message');
});
