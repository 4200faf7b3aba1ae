/**
 * A 3-node JetStream cluster on loopback for R3 streams: fixed free ports
 * (so a killed node comes back on the same address), one shared temp dir,
 * routes from every node to every node, readiness = every node healthy and
 * agreeing on a meta leader.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NatsHarnessError, NatsServer, findNatsServer } from './nats-server.js';

export interface NatsClusterOptions {
  /** Number of nodes (default 3). */
  size?: number;
  /** Cluster name (default `holonet-test`). */
  clusterName?: string;
  readyTimeoutMs?: number;
  keepDir?: boolean;
  /** nats-server binary for every node (default: findNatsServer(), the newest on this machine). */
  bin?: string;
}

/** Ask the kernel for `n` distinct free loopback ports (all held open until all are known). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => {
      const addr = s.address();
      if (addr === null || typeof addr === 'string') throw new NatsHarnessError('no port from listen(0)');
      return addr.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

interface JszMeta {
  meta_cluster?: { leader?: string; cluster_size?: number };
}

export class NatsCluster {
  readonly nodes: NatsServer[];
  readonly dir: string;
  readonly #keepDir: boolean;

  private constructor(nodes: NatsServer[], dir: string, keepDir: boolean) {
    this.nodes = nodes;
    this.dir = dir;
    this.#keepDir = keepDir;
  }

  static async start(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
    const bin = opts.bin ?? findNatsServer(); // fail loudly before allocating anything; every node runs the same binary
    const size = opts.size ?? 3;
    const clusterName = opts.clusterName ?? 'holonet-test';
    const dir = mkdtempSync(join(tmpdir(), 'holonet-nats-cluster-'));
    const ports = await freePorts(size * 3);
    const at = (i: number, k: number): number => ports[i * 3 + k] as number;
    const routes = Array.from({ length: size }, (_, i) => `nats-route://127.0.0.1:${at(i, 2)}`);
    const nodes: NatsServer[] = [];
    const cluster = new NatsCluster(nodes, dir, opts.keepDir === true);
    try {
      for (let i = 0; i < size; i++) {
        const config = [
          'cluster {',
          `  name: ${clusterName}`,
          `  listen: 127.0.0.1:${at(i, 2)}`,
          `  routes: [${routes.filter((_, j) => j !== i).join(', ')}]`,
          '}',
          '',
        ].join('\n');
        nodes.push(
          await NatsServer.start({
            name: `c${i + 1}`,
            bin,
            dir,
            config,
            fixedPorts: { client: at(i, 0), monitor: at(i, 1) },
            skipHealth: true,
          }),
        );
      }
      await cluster.waitReady(Date.now() + (opts.readyTimeoutMs ?? 30_000));
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  /** Client URLs of every node (give all of them to the client for failover). */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** Wait until every running node is healthy and they all name the same meta leader. */
  async waitReady(deadline = Date.now() + 30_000): Promise<string> {
    const running = this.nodes.filter((n) => n.running);
    for (const n of running) await n.waitHealthy(deadline);
    let leaders: (string | undefined)[] = [];
    while (Date.now() < deadline) {
      leaders = await Promise.all(
        running.map(async (n) => ((await n.monitor('/jsz').catch(() => ({}))) as JszMeta).meta_cluster?.leader),
      );
      const first = leaders[0];
      if (first !== undefined && first !== '' && leaders.every((l) => l === first)) return first;
      await sleep(100);
    }
    throw new NatsHarnessError(
      `cluster has no agreed JetStream meta leader in time (saw ${JSON.stringify(leaders)})\n` +
        running.map((n) => `--- ${n.name}\n${n.logTail(8)}`).join('\n'),
    );
  }

  node(name: string): NatsServer {
    const n = this.nodes.find((x) => x.name === name);
    if (n === undefined) throw new NatsHarnessError(`no node named ${name}`);
    return n;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    if (!this.#keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

export function startNatsCluster(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
  return NatsCluster.start(opts);
}
