/**
 * The daemons' log formats (adapters/log/daemon-logger.ts): pino level →
 * syslog priority, the `<N>` prefix journald strips (sd-daemon(3)), the
 * journal detected only when JOURNAL_STREAM names the very descriptor
 * written to (systemd.exec(5)), json and pretty; each written to a real file
 * descriptor.
 */
import t from 'tap';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDaemonLogger, isJournalStream, journalLine, stderrPrefix, syslogPriority } from '../../adapters/log/daemon-logger.js';
import type { LogFormat } from '../../bus-schemas/observability-config.js';
import { parseStrictJson } from '../../bus-schemas/strict-json.js';

const tmp = mkdtempSync(join(tmpdir(), 'holonet-logs-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

/** Log one line per level through a daemon logger writing to a fresh file; the file's text and the format used. */
function logTo(name: string, format: LogFormat, env: (fd: number) => NodeJS.ProcessEnv): { text: string; format: LogFormat } {
  const file = join(tmp, name);
  const fd = openSync(file, 'w', 0o600);
  try {
    const r = createDaemonLogger({ name: 'holon-test', level: 'trace', format, redact: ['seed'], fd, env: env(fd) });
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const) r.log[level]({ seed: 'SUAAA', n: 1 }, `at ${level}`);
    return { text: readFileSync(file, 'utf8'), format: r.format };
  } finally {
    closeSync(fd);
  }
}

const streamOf = (fd: number): string => {
  const st = fstatSync(fd);
  return `${st.dev}:${st.ino}`;
};

void t.test('pino level → syslog priority', async (t) => {
  t.same([10, 20, 30, 40, 50, 60].map(syslogPriority), [7, 7, 6, 4, 3, 2], 'trace debug info warn error fatal');
  t.equal(journalLine('{"level":50,"msg":"x"}\n'), '<3>{"level":50,"msg":"x"}\n');
  t.equal(journalLine('not pino\n'), '<6>not pino\n', 'a line without a level is filed as info');
});

void t.test('json: strict JSON lines, key material redacted, no prefix when JOURNAL_STREAM names another stream', async (t) => {
  const r = logTo('json.log', 'json', () => ({ JOURNAL_STREAM: '1:1' }));
  t.equal(r.format, 'json');
  const lines = r.text.trimEnd().split('\n');
  t.equal(lines.length, 6);
  for (const l of lines) {
    const j = parseStrictJson(l) as Record<string, unknown>;
    t.match(j, { name: 'holon-test', n: 1 });
    t.not(j.seed, 'SUAAA', 'the seed is redacted');
  }
});

void t.test('json on the journal becomes journal: every line prefixed with its priority, JSON after it', async (t) => {
  const r = logTo('journal-auto.log', 'json', (fd) => ({ JOURNAL_STREAM: streamOf(fd) }));
  t.equal(r.format, 'journal');
  const lines = r.text.trimEnd().split('\n');
  t.same(lines.map((l) => l.slice(0, 3)), ['<7>', '<7>', '<6>', '<4>', '<3>', '<2>']);
  for (const l of lines) t.match(parseStrictJson(l.slice(3)), { name: 'holon-test' }, 'the rest of the line is the JSON line');
});

void t.test('journal by config, whatever the environment', async (t) => {
  const r = logTo('journal.log', 'journal', () => ({}));
  t.equal(r.format, 'journal');
  t.match(r.text, /^<7>\{"level":10,/);
});

void t.test('pretty: human lines, no JSON, no prefix even on the journal', async (t) => {
  const r = logTo('pretty.log', 'pretty', (fd) => ({ JOURNAL_STREAM: streamOf(fd) }));
  t.equal(r.format, 'pretty');
  t.match(r.text, /INFO.*\(holon-test.*\): at info/);
  t.match(r.text, /FATAL/);
  t.notMatch(r.text, /^</m);
  t.notMatch(r.text, /SUAAA/);
});

void t.test('isJournalStream compares device and inode of the descriptor', async (t) => {
  const fd = openSync(join(tmp, 'x'), 'w');
  t.teardown(() => closeSync(fd));
  t.equal(isJournalStream(streamOf(fd), fd), true);
  t.equal(isJournalStream(undefined, fd), false);
  t.equal(isJournalStream('', fd), false);
  t.equal(isJournalStream('12:x', fd), false);
  t.equal(isJournalStream(streamOf(fd), 987_654), false, 'a closed descriptor is not the journal');
  t.equal(stderrPrefix(fd, { JOURNAL_STREAM: streamOf(fd) }), '<3>', "a daemon's last words on a journal stderr are errors");
  t.equal(stderrPrefix(fd, {}), '');
});
