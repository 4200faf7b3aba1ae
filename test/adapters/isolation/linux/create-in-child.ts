/**
 * Helper process of the recovery test: `node create-in-child.js <stateDir> <name> <network>`
 * creates one unit with a fresh adapter, prints its UnitInfo as JSON and exits,
 * so the test can check that the unit outlives the process that created it.
 */
import { LinuxIsolation } from '../../../../adapters/isolation/linux/index.js';

const [stateDir, name, network] = process.argv.slice(2);
if (stateDir === undefined || name === undefined || (network !== 'none' && network !== 'egress')) {
  process.stderr.write('usage: create-in-child.js <stateDir> <name> <none|egress>\n');
  process.exit(2);
}
const adapter = new LinuxIsolation({ stateDir });
const info = await adapter.create({ name, role: 'GENERAL_COMPUTE', network, limits: { cpuMillicores: 500, memoryBytes: 64 * 1024 * 1024, pids: 32 } });
process.stdout.write(`${JSON.stringify(info)}\n`);
