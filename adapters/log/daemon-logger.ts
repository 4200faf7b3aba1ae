/**
 * log: the daemons' pino logger on stdout, in the configured `log_format`
 * (docs/agent.md, docs/orchestrator.md):
 *
 *   json     one JSON object per line (the default)
 *   pretty   pino-pretty, for a human at a terminal
 *   journal  JSON lines prefixed with their syslog priority, `<6>{"level":30,…}`
 *            (sd-daemon(3)): journald strips the prefix and files the line under
 *            that priority (SyslogLevelPrefix=, true by default, systemd.exec(5)).
 *
 * `json` becomes `journal` by itself when stdout IS the journal: systemd
 * sets JOURNAL_STREAM=<dev>:<inode> of the stream it connected, and
 * systemd.exec(5) asks to compare it with the descriptor, since the variable
 * is inherited by processes whose stdout went elsewhere (a daemon started by
 * `holonctl up` from a unit writes to a log file, unprefixed).
 *
 * Writes are synchronous, so the last lines before process.exit are not lost.
 */
import { fstatSync } from 'node:fs';
import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat } from '../../bus-schemas/observability-config.js';

/** pino level → syslog priority: fatal 2 (crit), error 3, warn 4, info 6, debug and trace 7. */
export function syslogPriority(level: number): number {
  if (level >= 60) return 2;
  if (level >= 50) return 3;
  if (level >= 40) return 4;
  if (level >= 30) return 6;
  return 7;
}

/** One pino JSON line with its `<N>` prefix (pino writes `"level"` first; a line without one is filed as info). */
export function journalLine(line: string): string {
  const m = /^\{"level":(\d+)/.exec(line);
  return `<${syslogPriority(m === null ? 30 : Number(m[1]))}>${line}`;
}

/** Whether `fd` is the stream JOURNAL_STREAM (`<dev>:<inode>`) names. */
export function isJournalStream(journalStream: string | undefined, fd: number): boolean {
  const m = /^(\d+):(\d+)$/.exec(journalStream ?? '');
  if (m === null) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1] as string) && st.ino === BigInt(m[2] as string);
  } catch {
    return false;
  }
}

/** `<3>` (error) when `fd` — stderr by default — is the journal, else nothing: for the plain-text lines a daemon writes there as it fails. */
export function stderrPrefix(fd = 2, env: NodeJS.ProcessEnv = process.env): string {
  return isJournalStream(env.JOURNAL_STREAM, fd) ? '<3>' : '';
}

export interface DaemonLogOptions {
  name: string;
  level: string;
  format: LogFormat;
  redact: LoggerOptions['redact'];
  /** default process.env */
  env?: NodeJS.ProcessEnv;
  /** default 1 (stdout) */
  fd?: number;
}

/** The daemon's root logger and the format it really writes (json may have become journal). */
export function createDaemonLogger(o: DaemonLogOptions): { log: Logger; format: LogFormat } {
  const fd = o.fd ?? 1;
  const options: LoggerOptions = { name: o.name, level: o.level, redact: o.redact };
  if (o.format === 'pretty') return { log: pino(options, pretty({ destination: fd, sync: true, colorize: isatty(fd) })), format: 'pretty' };
  const out = pino.destination({ dest: fd, sync: true });
  if (o.format === 'json' && !isJournalStream((o.env ?? process.env).JOURNAL_STREAM, fd)) return { log: pino(options, out), format: 'json' };
  const journal: DestinationStream = { write: (line: string) => void out.write(journalLine(line)) };
  return { log: pino(options, journal), format: 'journal' };
}
