/**
 * The shape of a holonctl command and the errors the dispatcher turns into
 * exit codes: UsageError → 2 (the command line is wrong), any other failure
 * → 1 (one line, no stack): CliFailure for what the command found (a unit
 * that is not running, a wait that gave up), a HolonError for a refusal.
 * Commands reach the outside world only through ports (cli/ports.ts), which
 * cli/main.ts wires to adapters.
 */
import type { CliPorts } from './ports.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export interface Command {
  name: string;
  /** One line for `holonctl --help`. */
  summary: string;
  /** Full text for `holonctl <name> --help`. */
  help: string;
  /** Returns the exit code. Throw UsageError for bad arguments. */
  run(args: string[], io: CliIo, ports: CliPorts): Promise<number>;
}

/** Bad command line: the dispatcher prints the message and a hint, exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** The command line was fine, but the command could not do it (exit 1): say what stands in the way. */
export class CliFailure extends Error {
  override name = 'CliFailure';
}

export function writeLine(stream: NodeJS.WritableStream, line = ''): void {
  stream.write(`${line}\n`);
}
