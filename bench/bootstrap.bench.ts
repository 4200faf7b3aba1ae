/**
 * End-to-end bootstrap against swtpm: a real holon-orchestrator process on a
 * real nats-server, and an agent-side client (the test agent: bus-schemas
 * agent half + TpmAttestor over tpm2-tools) that creates its EK and AK afresh
 * each run, says hello, activates the credential, quotes and attests, until
 * the cell answers ENROLLED (EK pre-approved by the principal's policy, so no
 * human step is timed). Next to it, in the same run and on the same swtpm,
 * the bare tpm2-tools command sequence the bootstrap needs (bench/tpm.bench.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { connectBus } from '../adapters/nats/connect.js';
import { TpmAttestor } from '../adapters/tpm/index.js';
import { ekHash, parseTpm2bPublic } from '../bus-schemas/tpm/index.js';
import { NatsServer } from '../test/harness/nats-server.js';
import { startSwtpm } from '../test/harness/swtpm.js';
import { initCell, OrchestratorProcess, writeConfig, writePolicy } from '../test/orchestrator/cell-fixture.js';
import { TestAgent } from '../test/orchestrator/test-agent.js';
import { percentile, round, type BenchResult } from './measure.js';
import { bareSequence } from './tpm.bench.js';

const RUNS = 8;

export default async function bench(): Promise<BenchResult[]> {
  const nats = await NatsServer.start();
  const tpm = await startSwtpm();
  const cell = initCell('required');
  const scratch = mkdtempSync(join(tmpdir(), 'holonet-bench-boot-'));
  let orch: OrchestratorProcess | undefined;
  const conn = await connectBus({ servers: nats.url, reconnect: false, logger: pino({ level: 'silent' }) });
  try {
    const first = await new TpmAttestor({ stateDir: join(scratch, 'probe'), tcti: tpm.tcti }).provision();
    const ekHex = ekHash(parseTpm2bPublic(first.ekPublic)).slice('sha256:'.length);
    writePolicy(cell, 'policy-bench.json', { preapproved_eks: [{ ek_sha256: ekHex }] });
    const config = writeConfig(cell, 'bench.json', { nats: { servers: [nats.url] }, policy: 'policy-bench.json' });
    orch = await OrchestratorProcess.start(config);

    await bareSequence(tpm.tcti); // warm-up, as in bench/tpm
    const ours: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // Alternate the two so both see the same machine load.
      const b0 = performance.now();
      await bareSequence(tpm.tcti);
      bare.push(performance.now() - b0);

      const t0 = performance.now();
      const attestor = new TpmAttestor({ stateDir: join(scratch, `run-${i}`), tcti: tpm.tcti });
      const identity = await attestor.provision({ fresh: true });
      const agent = new TestAgent(conn, { tpm: { attestor, identity }, pinned: [cell.principalKey] });
      const { status } = await agent.bootstrap();
      const ms = performance.now() - t0;
      if (status.state !== 'ENROLLED') throw new Error(`bench run ${i} ended ${status.state}`);
      ours.push(ms);
    }
    ours.sort((a, b) => a - b);
    bare.sort((a, b) => a - b);
    const p50 = percentile(ours, 50);
    const bareP50 = percentile(bare, 50);
    return [
      {
        name: 'bootstrap_end_to_end_swtpm',
        value: round(p50, 1),
        unit: 'ms (p50)',
        baseline: { name: 'bare tpm2-tools sequence (createek, createak, makecredential, activatecredential, quote, flushes) p50', value: round(bareP50, 1), unit: 'ms' },
        goal: '≤ 1.5 × the bare tpm2-tools sequence (p50)',
        goal_met: p50 <= 1.5 * bareP50,
        meta: {
          runs: RUNS,
          p99_ms: round(percentile(ours, 99), 1),
          bare_p99_ms: round(percentile(bare, 99), 1),
          ratio_p50: round(p50 / bareP50, 2),
          orchestrator: 'real holon-orchestrator process (SQLite, ledger on JetStream)',
          agent: 'test agent: bus-schemas agent half + TpmAttestor (tpm2-tools), in the bench process',
        },
      },
    ];
  } finally {
    await orch?.stop().catch(() => undefined);
    await conn.close().catch(() => undefined);
    await tpm.stop();
    await nats.stop();
    cell.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  }
}
