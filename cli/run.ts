/**
 * The dispatcher: `holonctl <command> [options]`. Adding a command = one
 * file in cli/commands/ and one line in COMMANDS.
 */
import { jobCommand } from './commands/job.js';
import { budgetCommand, usageCommand } from './commands/budget.js';
import { holonsCommand, provisionCommand, showCommand, teardownCommand } from './commands/holons.js';
import { HolonError } from '../bus-schemas/errors.js';
import { approveCommand } from './commands/approve.js';
import { auditCommand } from './commands/audit.js';
import { initCommand, type InitPorts } from './commands/init.js';
import { machinesCommand } from './commands/machines.js';
import { upCommand, type UpPorts } from './commands/up.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, writeLine, type CliIo, type Command } from './command.js';
import type { CliPorts } from './ports.js';

export const COMMANDS: readonly Command[] = [initCommand, upCommand, auditCommand, machinesCommand, approveCommand, provisionCommand, holonsCommand, showCommand, usageCommand, budgetCommand, teardownCommand, jobCommand];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'holonctl — operate a Holonet cell',
    '',
    'usage: holonctl <command> [options]',
    '       holonctl <command> --help',
    '       holonctl --version',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'The commands that talk to a cell find it without flags while holonctl up',
    'runs: --dir, else $HOLONET_DIR, else ./.holonet; --server, else',
    '$HOLONET_SERVER, else <dir>/up/context.json; --creds, else $HOLONET_CREDS,',
    'else the context file, else <dir>/nats/holonctl.creds.',
    '',
    'exit codes: 0 ok, 1 failure (a refusal, a unit not running, a wait that',
    'gave up, or a finding such as a broken ledger), 2 usage error; job run',
    'exits with the job\'s own status',
  ].join('\n');
}

/** Run holonctl with `argv` (without node and script); returns the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIo, ports: CliPorts & InitPorts & Partial<UpPorts>): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    writeLine(io.stdout, `holonctl ${ports.version ?? 'unknown'}`);
    return EXIT_OK;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const out = name === undefined ? io.stderr : io.stdout;
    writeLine(out, mainHelp());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    writeLine(io.stderr, `holonctl: unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(', ')}; see holonctl --help)`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    writeLine(io.stdout, command.help);
    return EXIT_OK;
  }
  try {
    return await command.run(rest, io, ports);
  } catch (e) {
    if (e instanceof UsageError) {
      writeLine(io.stderr, `holonctl ${command.name}: ${e.message} (see holonctl ${command.name} --help)`);
      return EXIT_USAGE;
    }
    const code = e instanceof HolonError ? ` [${e.code}]` : '';
    const message = e instanceof Error ? e.message : String(e);
    writeLine(io.stderr, `holonctl ${command.name}: ${message.split('\n')[0] ?? ''}${code}`);
    if (io.env.HOLONET_DEBUG === '1' && e instanceof Error && e.stack !== undefined) writeLine(io.stderr, e.stack);
    return EXIT_FAILURE;
  }
}
