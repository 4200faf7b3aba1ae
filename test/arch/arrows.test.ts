/**
 * The arrows of DESIGN §12, enforced: bus-schemas is a pure leaf, agent and
 * orchestrator never import each other, only main.ts composition roots import
 * adapters, the packages that touch the world (NATS, SQLite, files,
 * processes, sockets, HTTP, prom-client) are imported only by adapters and
 * main.ts files, and there are no import cycles anywhere in the product code.
 */
import t from 'tap';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const PRODUCT = ['bus-schemas', 'agent', 'orchestrator', 'cli', 'adapters'];
const BUS_SCHEMAS_ALLOWED_PACKAGES = [/^node:crypto$/, /^@noble\//, /^@scure\/base$/, /^canonicalize$/];

/** Packages that reach the world: only adapters/ and the main.ts composition roots import them. */
const WORLD_PACKAGES = [/^@nats-io\//, /^better-sqlite3$/, /^(node:)?fs(\/promises)?$/, /^(node:)?child_process$/, /^(node:)?net$/, /^(node:)?https?$/, /^prom-client$/];

/**
 * Product files outside adapters/ that still import a world package, each
 * with the one package pattern it may import and why. Keep it short: every
 * entry is a TODO.
 */
export const WORLD_PACKAGE_EXCEPTIONS: readonly { file: string; spec: RegExp; reason: string }[] = [
  {
    file: 'agent/fs-key-store.ts',
    spec: /^node:fs\/promises$/,
    reason: 'TODO: the KeyStore port (agent/key-store.ts) belongs in adapters/ (e.g. adapters/fs/key-store.ts); not moved yet because test/admission/agent-retry.test.ts imports it from agent/',
  },
  { file: 'orchestrator/cell-material.ts', spec: /^node:fs$/, reason: 'TODO: reads the cell key and certificate files; belongs behind a port wired in orchestrator/main.ts' },
  { file: 'orchestrator/config.ts', spec: /^node:fs$/, reason: 'TODO: reads files named in the config; main.ts should read them and hand over the bytes' },
  { file: 'cli/commands/init.ts', spec: /^node:fs\/promises$/, reason: 'TODO: writes the cell directory; a files port wired in cli/main.ts' },
  { file: 'cli/commands/machines.ts', spec: /^node:fs\/promises$/, reason: 'TODO: reads an approval file; a files port wired in cli/main.ts' },
  { file: 'cli/commands/up.ts', spec: /^node:fs$/, reason: 'TODO: checks and creates the local cell directory; a files port wired in cli/main.ts' },
  { file: 'cli/commands/up-files.ts', spec: /^node:fs\/promises$/, reason: 'TODO: writes the daemons\' config files; a files port wired in cli/main.ts' },
  { file: 'cli/commands/up-children.ts', spec: /^node:(fs|child_process)$/, reason: 'TODO: spawns and supervises nats-server and the daemons; a process port wired in cli/main.ts' },
];

const isMainFile = (f: string): boolean => f === 'main.ts' || f.endsWith('/main.ts');

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

/** The import edges of one product file (`from` repo-relative) with source text `source`. */
export function edgesOf(from: string, source: string): Edge[] {
  return importsOf(source).map((spec) => (spec.startsWith('.') ? { from, spec, to: join(dirname(from), spec.replace(/\.js$/, '.ts')) } : { from, spec }));
}

function collectEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const top of PRODUCT) {
    for (const file of walk(join(root, top))) edges.push(...edgesOf(relative(root, file), readFileSync(file, 'utf8')));
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
    if (e.to === undefined && fromTop !== 'adapters' && fromTop !== 'bus-schemas' && !isMainFile(e.from) && WORLD_PACKAGES.some((re) => re.test(e.spec))) {
      if (!WORLD_PACKAGE_EXCEPTIONS.some((x) => x.file === e.from && x.spec.test(e.spec))) {
        bad.push(`${e.from}: only adapters/ and main.ts files may import package ${e.spec} (declare a port, implement it in adapters/)`);
      }
    }
    if (e.to === undefined) continue;
    const toTop = topOf(e.to);
    if (fromTop === 'agent' && toTop === 'orchestrator') bad.push(`${e.from}: agent/ must not import orchestrator/ (${e.spec})`);
    if (fromTop === 'orchestrator' && toTop === 'agent') bad.push(`${e.from}: orchestrator/ must not import agent/ (${e.spec})`);
    if (fromTop === 'cli' && (toTop === 'agent' || toTop === 'orchestrator')) {
      bad.push(`${e.from}: cli/ speaks to the daemons over the bus; it must not import ${toTop}/ (${e.spec})`);
    }
    if (toTop === 'adapters' && fromTop !== 'adapters' && !isMainFile(e.from)) {
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

void t.test('packages that reach the world are imported only by adapters/ and main.ts files', async (t) => {
  const planted = [
    "import { connect } from '@nats-io/transport-node';",
    "import { readFile } from 'node:fs/promises';",
    "import Database from 'better-sqlite3';",
    "import { spawn } from 'child_process';",
    "const net = await import('node:net');",
    "import { createHash } from 'node:crypto';",
  ].join('\n');
  const v = arrowViolations(edgesOf('agent/unit-steps.ts', planted));
  t.same(
    v,
    ['@nats-io/transport-node', 'node:fs/promises', 'better-sqlite3', 'child_process', 'node:net'].map(
      (p) => `agent/unit-steps.ts: only adapters/ and main.ts files may import package ${p} (declare a port, implement it in adapters/)`,
    ),
    'a planted import of each world package in agent/ is caught; node:crypto is not a world package',
  );
  t.equal(arrowViolations(edgesOf('orchestrator/provisioning/placement.ts', planted)).length, 5, 'the same in orchestrator/');
  t.equal(arrowViolations(edgesOf('cli/commands/status.ts', planted)).length, 5, 'the same in cli/');
  const serving = "import { createServer } from 'node:http';\nimport { Registry } from 'prom-client';";
  t.equal(arrowViolations(edgesOf('orchestrator/provision-metrics.ts', serving)).length, 2, 'an HTTP server and prom-client are world packages too');
  t.same(arrowViolations(edgesOf('adapters/metrics/metrics-server.ts', serving)), [], 'adapters/metrics may import them');
  t.same(arrowViolations(edgesOf('adapters/nats/agent-bus.ts', planted)), [], 'adapters/ may import them');
  t.same(arrowViolations(edgesOf('agent/main.ts', planted)), [], 'a main.ts composition root may import them');
  // An exception covers its file and its package only.
  t.same(arrowViolations(edgesOf('orchestrator/config.ts', "import { readFileSync } from 'node:fs';")), [], 'a listed exception');
  t.equal(arrowViolations(edgesOf('orchestrator/config.ts', "import { connect } from 'node:net';")).length, 1, 'a listed file importing another world package is caught');
  t.equal(arrowViolations(edgesOf('orchestrator/other.ts', "import { readFileSync } from 'node:fs';")).length, 1, 'another file importing the excepted package is caught');
});

void t.test('every exception is still needed (fixing one means deleting its entry)', async (t) => {
  for (const x of WORLD_PACKAGE_EXCEPTIONS) {
    const file = join(root, x.file);
    t.ok(existsSync(file), `${x.file} exists`);
    if (!existsSync(file)) continue;
    t.ok(
      importsOf(readFileSync(file, 'utf8')).some((spec) => x.spec.test(spec)),
      `${x.file} still imports ${String(x.spec)} (${x.reason})`,
    );
  }
});
