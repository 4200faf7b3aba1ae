/**
 * A strict reader of the Prometheus text exposition format 0.0.4, for tests:
 * it refuses what a lenient scraper would let through, so a test that reads
 * /metrics with it also checks that the page is well-formed.
 *
 * - every line ends with `\n`; `# HELP` and `# TYPE` at most once per family,
 *   TYPE before the family's first sample; other `#` lines are comments;
 * - names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names `[a-zA-Z_][a-zA-Z0-9_]*`
 *   (not `__…`), label values with only the `\\`, `\"`, `\n` escapes, no
 *   label twice in one sample, no sample (name + labels) twice;
 * - a family's samples are contiguous; values are floats, `NaN`, `+Inf`,
 *   `-Inf` (any case, as Prometheus reads them); an optional integer timestamp;
 * - counters are ≥ 0; histograms have `_bucket{le}` (cumulative, ending at
 *   `+Inf` = `_count`) and `_sum` per label set, and no other samples.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string | undefined;
  samples: Sample[];
}

export class PromTextError extends Error {
  override name = 'PromTextError';
  constructor(readonly line: number, reason: string) {
    super(`prometheus text line ${line}: ${reason}`);
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** A value as Prometheus reads it (Go's strconv.ParseFloat: Inf and NaN in any case; prom-client writes `Nan`). */
function parseValue(text: string, line: number): number {
  if (/^nan$/i.test(text)) return NaN;
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  if (!/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(text)) throw new PromTextError(line, `not a sample value: ${JSON.stringify(text)}`);
  return Number(text);
}

/** `{a="x",b="y"}` from position `i` of `s` (at the `{`); the labels and the position after `}`. */
function parseLabels(s: string, i: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let p = i + 1;
  for (;;) {
    if (s[p] === '}') return { labels, end: p + 1 };
    const eq = s.indexOf('=', p);
    if (eq < 0) throw new PromTextError(line, 'label without =');
    const name = s.slice(p, eq);
    if (!LABEL.test(name) || name.startsWith('__')) throw new PromTextError(line, `bad label name ${JSON.stringify(name)}`);
    if (Object.hasOwn(labels, name)) throw new PromTextError(line, `label ${name} twice`);
    if (s[eq + 1] !== '"') throw new PromTextError(line, `label ${name}: value not quoted`);
    let v = '';
    let q = eq + 2;
    for (; q < s.length && s[q] !== '"'; q++) {
      if (s[q] !== '\\') {
        v += s[q];
        continue;
      }
      const e = s[++q];
      if (e === '\\' || e === '"') v += e;
      else if (e === 'n') v += '\n';
      else throw new PromTextError(line, `label ${name}: bad escape \\${e ?? ''}`);
    }
    if (q >= s.length) throw new PromTextError(line, `label ${name}: unterminated value`);
    labels[name] = v;
    p = q + 1;
    if (s[p] === ',') p++;
    else if (s[p] !== '}') throw new PromTextError(line, `expected , or } after label ${name}`);
  }
}

function parseSample(s: string, line: number): Sample {
  const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(s);
  if (m === null) throw new PromTextError(line, `not a sample: ${JSON.stringify(s.slice(0, 80))}`);
  const name = m[0];
  let rest = s.slice(name.length);
  let labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    const l = parseLabels(rest, 0, line);
    labels = l.labels;
    rest = rest.slice(l.end);
  }
  const parts = rest.split(' ');
  if (parts[0] !== '' || parts.length < 2 || parts.length > 3) throw new PromTextError(line, `expected " value [timestamp]" after ${name}`);
  if (parts.length === 3 && !/^-?\d+$/.test(parts[2] as string)) throw new PromTextError(line, 'bad timestamp');
  return { name, labels, value: parseValue(parts[1] as string, line) };
}

const SUFFIXES: Record<MetricType, readonly string[]> = { counter: [''], gauge: [''], untyped: [''], histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] };

/** The family a sample name belongs to, among the declared ones. */
function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  for (const [name, f] of families) if (SUFFIXES[f.type].some((x) => sample === name + x)) return f;
  return undefined;
}

function labelKey(labels: Record<string, string>, without?: string): string {
  return JSON.stringify(Object.entries(labels).filter(([k]) => k !== without).sort(([a], [b]) => a.localeCompare(b)));
}

function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const key = labelKey(s.labels, 'le');
    const h = series.get(key) ?? { buckets: [] };
    series.set(key, h);
    if (s.name.endsWith('_bucket')) {
      const le = s.labels.le;
      if (le === undefined) throw new PromTextError(0, `${s.name} without le`);
      h.buckets.push([parseValue(le, 0), s.value]);
    } else if (s.name.endsWith('_sum')) h.sum = s.value;
    else h.count = s.value;
  }
  for (const [key, h] of series) {
    const where = `${f.name}${key}`;
    if (h.sum === undefined || h.count === undefined) throw new PromTextError(0, `${where}: _sum and _count required`);
    const last = h.buckets[h.buckets.length - 1];
    if (last === undefined || last[0] !== Infinity || last[1] !== h.count) throw new PromTextError(0, `${where}: the +Inf bucket must close the buckets and equal _count`);
    for (let i = 1; i < h.buckets.length; i++) {
      const [a, b] = [h.buckets[i - 1] as [number, number], h.buckets[i] as [number, number]];
      if (!(a[0] < b[0]) || b[1] < a[1]) throw new PromTextError(0, `${where}: buckets not ascending and cumulative`);
    }
  }
}

/** Parse a whole /metrics page; throws PromTextError naming the line. */
export function parsePromText(text: string): Map<string, Family> {
  if (text !== '' && !text.endsWith('\n')) throw new PromTextError(0, 'the text must end with a newline');
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const closed = new Set<Family>();
  const typed = new Set<string>();
  let current: Family | undefined;
  const declared = (name: string, line: number): Family => {
    if (!NAME.test(name)) throw new PromTextError(line, `bad metric name ${JSON.stringify(name)}`);
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { name, type: 'untyped', help: undefined, samples: [] }));
    if (f.samples.length > 0) throw new PromTextError(line, `HELP/TYPE of ${name} after its samples`);
    return f;
  };
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((l, idx) => {
    const line = idx + 1;
    if (l === '') return;
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(l);
    if (meta !== null) {
      const f = declared(meta[2] as string, line);
      if (meta[1] === 'HELP') {
        if (f.help !== undefined) throw new PromTextError(line, `HELP of ${f.name} twice`);
        f.help = (meta[3] ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      } else {
        if (typed.has(f.name)) throw new PromTextError(line, `TYPE of ${f.name} twice`);
        if (!TYPES.has(meta[3] as MetricType)) throw new PromTextError(line, `unknown type ${JSON.stringify(meta[3])}`);
        f.type = meta[3] as MetricType;
        typed.add(f.name);
      }
      return;
    }
    if (l.startsWith('#')) return;
    const s = parseSample(l, line);
    const f = familyOf(s.name, families) ?? declared(s.name, line);
    if (f !== current) {
      if (closed.has(f)) throw new PromTextError(line, `samples of ${f.name} are not contiguous`);
      if (current !== undefined) closed.add(current);
      current = f;
    }
    const key = `${s.name}${labelKey(s.labels)}`;
    if (seen.has(key)) throw new PromTextError(line, `sample ${key} twice`);
    seen.add(key);
    if (f.type === 'counter' && !(s.value >= 0)) throw new PromTextError(line, `counter ${s.name} is ${s.value}`);
    f.samples.push(s);
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** The value of the one sample `name` with exactly `labels`, or undefined. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const key = labelKey(labels);
  for (const f of families.values()) for (const s of f.samples) if (s.name === name && labelKey(s.labels) === key) return s.value;
  return undefined;
}
