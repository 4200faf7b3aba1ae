/**
 * The arrows of DESIGN §12, enforced: bus-schemas is a pure leaf, agent and
 * orchestrator never import each other, only main.ts composition roots import
 * adapters, and there are no import cycles anywhere in the product code.
 */
import t from 'tap';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const PRODUCT = ['bus-schemas', 'agent', 'orchestrator', 'cli', 'adapters'];
const BUS_SCHEMAS_ALLOWED_PACKAGES = [/^node:crypto$/, /^@noble\//, /^@scure\/base$/, /^canonicalize$/];

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

export function importsOf(source: string): string[] {
  const specs: string[] = [];
  for (const m of source.matchAll(IMPORT_RE)) specs.push((m[1] ?? m[2]) as string);
  return specs;
}

interface Edge {
  from: string;
  spec: string;
  to?: string; // repo-relative .ts path for relative imports
}

function collectEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const top of PRODUCT) {
    for (const file of walk(join(root, top))) {
      const from = relative(root, file);
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.')) {
          const to = relative(root, resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
          edges.push({ from, spec, to });
        } else edges.push({ from, spec });
      }
    }
  }
  return edges;
}

const topOf = (p: string): string => p.split('/')[0] as string;

/** Returns human-readable violations; an empty list means the arrows hold. */
export function arrowViolations(edges: Edge[]): string[] {
  const bad: string[] = [];
  for (const e of edges) {
    const fromTop = topOf(e.from);
    if (fromTop === 'bus-schemas') {
      if (e.to !== undefined && topOf(e.to) !== 'bus-schemas') bad.push(`${e.from}: bus-schemas must not import ${e.spec}`);
      if (e.to === undefined && !BUS_SCHEMAS_ALLOWED_PACKAGES.some((re) => re.test(e.spec))) {
        bad.push(`${e.from}: bus-schemas must stay pure, not import package ${e.spec}`);
      }
    }
    if (e.to === undefined) continue;
    const toTop = topOf(e.to);
    if (fromTop === 'agent' && toTop === 'orchestrator') bad.push(`${e.from}: agent/ must not import orchestrator/ (${e.spec})`);
    if (fromTop === 'orchestrator' && toTop === 'agent') bad.push(`${e.from}: orchestrator/ must not import agent/ (${e.spec})`);
    if (fromTop === 'cli' && (toTop === 'agent' || toTop === 'orchestrator')) {
      bad.push(`${e.from}: cli/ speaks to the daemons over the bus; it must not import ${toTop}/ (${e.spec})`);
    }
    if (toTop === 'adapters' && fromTop !== 'adapters' && !e.from.endsWith('/main.ts')) {
      bad.push(`${e.from}: only main.ts composition roots may import adapters/ (${e.spec})`);
    }
    if (fromTop === 'adapters' && (toTop === 'agent' || toTop === 'orchestrator' || toTop === 'cli')) {
      bad.push(`${e.from}: adapters/ implement ports; they must not import ${toTop}/ (${e.spec})`);
    }
  }
  return bad;
}

/** Every cycle found by DFS over relative imports, each as a path list. */
export function importCycles(edges: Edge[]): string[][] {
  const graph = new Map<string, string[]>();
  for (const e of edges) {
    if (e.to === undefined) continue;
    const list = graph.get(e.from) ?? [];
    list.push(e.to);
    graph.set(e.from, list);
  }
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      const s = state.get(m);
      if (s === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m]);
      else if (s === undefined) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return cycles;
}

void t.test('the product code keeps the arrows of DESIGN §12', async (t) => {
  const edges = collectEdges();
  t.ok(edges.length > 10, `scanned ${edges.length} imports`);
  t.same(arrowViolations(edges), [], 'no arrow violations');
  t.same(importCycles(edges), [], 'no import cycles');
});

void t.test('the checker itself catches each kind of violation', async (t) => {
  const fake: Edge[] = [
    { from: 'bus-schemas/a.ts', spec: '../adapters/nats/x.js', to: 'adapters/nats/x.ts' },
    { from: 'bus-schemas/b.ts', spec: 'node:net' },
    { from: 'bus-schemas/c.ts', spec: '@nats-io/jetstream' },
    { from: 'agent/x.ts', spec: '../orchestrator/y.js', to: 'orchestrator/y.ts' },
    { from: 'orchestrator/y.ts', spec: '../agent/x.js', to: 'agent/x.ts' },
    { from: 'agent/handler.ts', spec: '../adapters/sqlite/db.js', to: 'adapters/sqlite/db.ts' },
    { from: 'agent/main.ts', spec: '../adapters/sqlite/db.js', to: 'adapters/sqlite/db.ts' },
    { from: 'bus-schemas/d.ts', spec: 'node:crypto' },
    { from: 'cli/commands/x.ts', spec: '../../orchestrator/y.js', to: 'orchestrator/y.ts' },
  ];
  const v = arrowViolations(fake);
  t.equal(v.length, 8, v.join('\n'));
  t.match(v.join('\n'), /cli\/ speaks to the daemons over the bus/);
  t.match(v.join('\n'), /must not import \.\.\/adapters/);
  t.match(v.join('\n'), /not import package node:net/);
  t.match(v.join('\n'), /only main\.ts composition roots/);
  const cycles = importCycles(fake);
  t.same(cycles, [['agent/x.ts', 'orchestrator/y.ts', 'agent/x.ts']]);
  t.same(importsOf("import type { A } from './a.js';\nexport { b } from \"./b.js\";\nconst c = await import('./c.js');"), [
    './a.js',
    './b.js',
    './c.js',
  ]);
});
