/**
 * docs/metrics.md and the registry agree: every metric a daemon registers is
 * in one of the page's tables with its type and labels, and every metric the
 * page lists is registered — Holonet's own and prom-client's defaults alike.
 * Also the page's numbers: the cardinality cap, the label cap and the two
 * default listen addresses.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createPromMetrics, LABEL_VALUES_MAX } from '../../adapters/metrics/index.js';
import { DEFAULT_MAX_UNITS, DEFAULT_METRICS_LISTEN } from '../../bus-schemas/observability-config.js';

const DOC = fileURLToPath(new URL('../../../docs/metrics.md', import.meta.url));

interface Documented {
  type: string;
  labels: string[];
}

/** Rows `| \`name\` | type | labels | …` of every table in the page. */
export function documentedMetrics(markdown: string): Map<string, Documented> {
  const out = new Map<string, Documented>();
  for (const line of markdown.split('\n')) {
    const m = /^\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \| (counter|gauge|histogram|summary) \| ([^|]+) \|/.exec(line);
    if (m === null) continue;
    const name = m[1] as string;
    if (out.has(name)) throw new Error(`docs/metrics.md lists ${name} twice`);
    const cell = (m[3] as string).trim();
    out.set(name, { type: m[2] as string, labels: cell === '—' ? [] : cell.split(',').map((l) => l.trim().replace(/^`|`$/g, '')).sort() });
  }
  return out;
}

void t.test('every registered metric is documented, with its type and labels, and every documented one is registered', async (t) => {
  const documented = documentedMetrics(readFileSync(DOC, 'utf8'));
  for (const daemon of ['holon-orchestrator', 'holon-agent'] as const) {
    const registered = new Map(
      createPromMetrics({ daemon, version: 'test', maxUnits: 10 })
        .registry.getMetricsAsArray()
        .map((m) => {
          const { name, type, labelNames } = m as unknown as { name: string; type: string; labelNames: string[] };
          return [name, { type, labels: [...labelNames].sort() }] as const;
        }),
    );
    t.same([...registered.keys()].filter((n) => !documented.has(n)), [], `${daemon}: every registered metric is in docs/metrics.md`);
    t.same([...documented.keys()].filter((n) => !registered.has(n)), [], `${daemon}: every documented metric is registered`);
    for (const [name, r] of registered) if (documented.has(name)) t.same(documented.get(name), r, `${name}: type and labels as documented`);
  }
  t.ok(documented.size > 40, `${documented.size} metrics documented`);
});

void t.test('the numbers on the page are the code’s', async (t) => {
  const page = readFileSync(DOC, 'utf8');
  t.match(page, `| \`metrics.max_units\` | \`${DEFAULT_MAX_UNITS}\` |`, 'the default cap');
  t.match(page, `each takes at most ${LABEL_VALUES_MAX} distinct values`, 'the label cap');
  t.match(page, `\`${DEFAULT_METRICS_LISTEN.orchestrator}\` (orchestrator), \`${DEFAULT_METRICS_LISTEN.agent}\` (agent)`, 'the default addresses');
  for (const path of ['/metrics', '/healthz', '/readyz']) t.match(page, `\`GET ${path}\``, `endpoint ${path}`);
});

void t.test('the table reader itself', async (t) => {
  const m = documentedMetrics('| `a_total` | counter | `x`, `b` | both | … |\n| `g` | gauge | — | x |\nno table\n| metric | type |');
  t.same([...m], [['a_total', { type: 'counter', labels: ['b', 'x'] }], ['g', { type: 'gauge', labels: [] }]]);
  t.throws(() => documentedMetrics('| `g` | gauge | — |\n| `g` | gauge | — |'), /twice/);
});
