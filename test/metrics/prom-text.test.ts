/**
 * The strict Prometheus text reader of the tests refuses what it must (so a
 * test that reads /metrics through it checks the page too) and reads
 * prom-client's output, escapes included.
 */
import t from 'tap';
import { Counter, Histogram, Registry } from 'prom-client';
import { parsePromText, PromTextError, sampleValue } from './prom-text.js';

void t.test("prom-client's output, label escapes and histograms included", async (t) => {
  const registry = new Registry();
  const c = new Counter({ name: 'x_total', help: 'a "quoted" help\nwith a newline and \\ backslash', labelNames: ['v'], registers: [registry] });
  c.inc({ v: 'a "b"\nc\\d' }, 3);
  c.inc({ v: 'plain' });
  const h = new Histogram({ name: 'lat_seconds', help: 'h', labelNames: ['s'], buckets: [0.1, 1], registers: [registry] });
  h.observe({ s: 'a' }, 0.05);
  h.observe({ s: 'a' }, 5);
  const f = parsePromText(await registry.metrics());
  t.equal(f.get('x_total')?.type, 'counter');
  t.equal(f.get('x_total')?.help, 'a "quoted" help\nwith a newline and \\ backslash');
  t.equal(sampleValue(f, 'x_total', { v: 'a "b"\nc\\d' }), 3, 'escaped label value read back');
  t.equal(sampleValue(f, 'lat_seconds_bucket', { s: 'a', le: '0.1' }), 1);
  t.equal(sampleValue(f, 'lat_seconds_bucket', { s: 'a', le: '+Inf' }), 2);
  t.equal(sampleValue(f, 'lat_seconds_count', { s: 'a' }), 2);
  t.equal(sampleValue(f, 'lat_seconds_sum', { s: 'a' }), 5.05);
});

void t.test('refusals', async (t) => {
  const hist = (lines: string[]): string => `# TYPE h histogram\n${lines.join('\n')}\n`;
  const bad: [string, RegExp][] = [
    ['a 1', /end with a newline/],
    ['# TYPE a counter\n# TYPE a counter\na 1\n', /TYPE of a twice/],
    ['# HELP a x\n# HELP a y\n', /HELP of a twice/],
    ['a 1\n# TYPE a gauge\n', /after its samples/],
    ['# TYPE a wibble\n', /unknown type/],
    ['a{b="1",b="2"} 1\n', /label b twice/],
    ['a{__x="1"} 1\n', /bad label name/],
    ['a{b=1} 1\n', /not quoted/],
    ['a{b="\\t"} 1\n', /bad escape/],
    ['a{b="x} 1\n', /unterminated/],
    ['a{b="x"c="y"} 1\n', /expected , or }/],
    ['a 1\na 2\n', /twice/],
    ['a 1\nb 1\na{x="y"} 1\n', /not contiguous/],
    ['a one\n', /not a sample value/],
    ['a 1 2 3\n', /expected " value \[timestamp\]"/],
    ['a 1 x\n', /bad timestamp/],
    ['a  1\n', /not a sample value/],
    ['# TYPE c counter\nc -1\n', /counter c is -1/],
    ['9a 1\n', /not a sample/],
    [hist(['h_bucket{le="1"} 1', 'h_sum 1', 'h_count 1']), /\+Inf bucket/],
    [hist(['h_bucket{le="1"} 2', 'h_bucket{le="+Inf"} 1', 'h_sum 1', 'h_count 1']), /cumulative|\+Inf/],
    [hist(['h_bucket{le="+Inf"} 1', 'h_count 1']), /_sum and _count required/],
    [hist(['h_bucket 1', 'h_sum 1', 'h_count 1']), /without le/],
  ];
  for (const [text, reason] of bad) t.throws(() => parsePromText(text), reason, JSON.stringify(text));
  t.throws(() => parsePromText('a x\n'), PromTextError);
  const ok = parsePromText('# a comment\n\na{b="1",} 1 1700000000000\nb NaN\nc +Inf\n');
  t.equal(sampleValue(ok, 'a', { b: '1' }), 1, 'a trailing comma and a timestamp are allowed');
  t.ok(Number.isNaN(sampleValue(ok, 'b')), 'NaN');
  t.equal(sampleValue(ok, 'c'), Infinity);
});
