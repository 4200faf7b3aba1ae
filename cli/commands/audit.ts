/**
 * `holonctl audit`: replay LEDGER (from the start, a stream sequence or a
 * time), verify every entry and every owner's chain with the pure verifier,
 * print the mode, the counts and the first break. Exit 0 clean, 1 on any break.
 */
import { parseArgs } from 'node:util';
import { decodeId, type PublicKeyIdV1 } from '../../bus-schemas/ids.js';
import { describeBreak, type LedgerReport, type OwnerSummary } from '../../bus-schemas/ledger/ledger-report.js';
import { LedgerVerifier } from '../../bus-schemas/ledger/verify-ledger.js';
import { BUS_HELP, BUS_OPTIONS, resolveBusArgs, withConnectHint, type BusArgs } from '../bus-target.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, writeLine, type CliIo, type Command } from '../command.js';
import type { CliPorts, LedgerReplayStart, LedgerSource } from '../ports.js';

const HELP = `holonctl audit — replay the LEDGER stream and verify every chain

usage: holonctl audit [--server <url>…] [--creds <file>] [--dir <data dir>]
                      [--since <ISO time | stream seq>] [--trust <hkey1…>]…
                      [--full] [--json] [--progress] [--progress-every <n>]

${BUS_HELP}
  --since <t|seq>       start at an ISO 8601 time (2024-05-01T00:00:00Z) or a
                        stream sequence (1234); default: the first entry, and
                        then every chain must start at its genesis entry
  --trust <hkey1…>      accept only entries sealed by these keys (repeatable);
                        default: any valid seal
  --full                verify every entry's Ed25519 seal (slow); default: chain
                        mode, which verifies seals only at each owner's head and
                        where one writer key hands over to another
  --json                print one JSON document on stdout
  --progress            progress lines on stderr (default when stderr is a TTY)
  --progress-every <n>  entries between progress lines (default 10000)

Checks every entry's size, strict decoding, canonical bytes, owner = subject,
that its seal names a trusted writer, and per owner: seq + 1, prev = digest
of the previous entry; and that no stream sequence is missing. Ed25519 seals:
every one with --full; otherwise those of each owner's last entry and of each
entry followed by one of another writer key — each such seal covers, through
the prev digests, every entry before it (see bus-schemas/ledger/SEALS.md).
Exit 0: clean; 1: any break (the first one is printed); 2: usage error.`;

interface AuditArgs {
  bus: BusArgs;
  since?: LedgerReplayStart;
  trust: PublicKeyIdV1[];
  full: boolean;
  json: boolean;
  progress: boolean;
  progressEvery: number;
}

function parseSince(text: string): LedgerReplayStart {
  if (/^\d+$/.test(text)) {
    const seq = Number(text);
    if (!Number.isSafeInteger(seq) || seq < 1) throw new UsageError(`--since ${text}: a stream sequence must be ≥ 1`);
    return { seq };
  }
  const iso = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
  const ms = Date.parse(text);
  if (!iso.test(text) || Number.isNaN(ms)) {
    throw new UsageError(`--since ${JSON.stringify(text)}: expected an ISO 8601 time (2024-05-01T00:00:00Z) or a stream sequence`);
  }
  return { time: new Date(ms) };
}

function parseTrust(values: string[]): PublicKeyIdV1[] {
  return values.map((v) => {
    let kind: string;
    try {
      kind = decodeId(v).kind;
    } catch (e) {
      throw new UsageError(`--trust ${v}: ${(e as { reason?: string }).reason ?? 'not an id'}`);
    }
    if (kind !== 'key') throw new UsageError(`--trust ${v}: expected an hkey1… key id`);
    return v as PublicKeyIdV1;
  });
}

export function parseAuditArgs(args: string[], io: CliIo, ports: Pick<CliPorts, 'files'> = {}): AuditArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        ...BUS_OPTIONS,
        since: { type: 'string' },
        trust: { type: 'string', multiple: true },
        full: { type: 'boolean' },
        json: { type: 'boolean' },
        progress: { type: 'boolean' },
        'progress-every': { type: 'string' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const every = values['progress-every'] === undefined ? 10_000 : Number(values['progress-every']);
  if (!Number.isSafeInteger(every) || every < 1) throw new UsageError('--progress-every must be a positive integer');
  const out: AuditArgs = {
    bus: resolveBusArgs(values, io.env, ports.files),
    trust: parseTrust(values.trust ?? []),
    full: values.full === true,
    json: values.json === true,
    progress: values.progress === true || io.stderr.isTTY === true,
    progressEvery: every,
  };
  if (values.since !== undefined) out.since = parseSince(values.since);
  return out;
}

async function runAudit(args: string[], io: CliIo, ports: CliPorts): Promise<number> {
  const a = parseAuditArgs(args, io, ports);
  let source: LedgerSource;
  try {
    source = await ports.openLedgerSource(a.bus.target);
  } catch (e) {
    throw withConnectHint(e, a.bus);
  }
  let report: LedgerReport;
  try {
    const replay = await source.replay(a.since === undefined ? {} : { since: a.since });
    const fromStart = a.since === undefined;
    const verifier = new LedgerVerifier({
      mode: a.full ? 'full' : 'chain',
      trustedWriters: a.trust,
      fromStart,
      ...(fromStart ? { expectFirstStreamSeq: 1 } : {}),
    });
    let countdown = a.progressEvery;
    for await (const r of replay.records) {
      verifier.add(r);
      if (a.progress && --countdown === 0) {
        countdown = a.progressEvery;
        const t = verifier.totals;
        writeLine(io.stderr, `holonctl audit: ${t.entries}/${replay.pending} entries, ${t.breaks} breaks`);
      }
    }
    report = verifier.report();
  } finally {
    await source.close();
  }
  printReport(io, a, report);
  return report.breaks === 0 ? EXIT_OK : EXIT_FAILURE;
}

function printReport(io: CliIo, a: AuditArgs, r: LedgerReport): void {
  if (a.json) {
    const broken: Record<string, OwnerSummary> = {};
    for (const [owner, s] of Object.entries(r.per_owner)) if (s.breaks > 0) broken[owner] = s;
    const doc = {
      ok: r.breaks === 0,
      mode: r.mode,
      seals_checked: r.seals_checked,
      servers: a.bus.target.servers,
      since: a.since === undefined ? null : 'seq' in a.since ? { seq: a.since.seq } : { time: a.since.time.toISOString() },
      trusted_writers: a.trust,
      entries: r.entries,
      valid: r.valid,
      owners: r.owners,
      breaks: r.breaks,
      first_break: r.first_break,
      breaks_by_reason: r.breaks_by_reason,
      breaks_sample: r.breaks_sample,
      owners_with_breaks: broken,
      first_stream_seq: r.first_stream_seq,
      last_stream_seq: r.last_stream_seq,
    };
    writeLine(io.stdout, JSON.stringify(doc, null, 2));
    return;
  }
  const verdict = r.breaks === 0 ? 'OK' : 'BROKEN';
  const range = r.first_stream_seq === null ? 'empty' : `stream seq ${r.first_stream_seq}..${r.last_stream_seq}`;
  writeLine(io.stdout, `ledger audit: ${verdict}: ${r.entries} entries (${r.valid} valid), ${r.owners} owners, ${r.breaks} breaks [${range}]`);
  writeLine(io.stdout, `mode: ${r.mode}: ${r.seals_checked} Ed25519 seals verified${r.mode === 'chain' ? ' (owner heads and writer hand-overs; --full checks all)' : ''}`);
  if (r.first_break !== null) {
    writeLine(io.stdout, `first break: ${describeBreak(r.first_break)}`);
    const reasons = Object.entries(r.breaks_by_reason).map(([k, n]) => `${k} ${n}`);
    writeLine(io.stdout, `breaks by reason: ${reasons.join(', ')}`);
  }
}

export const auditCommand: Command = {
  name: 'audit',
  summary: 'replay LEDGER and verify every entry and chain, seals at heads and hand-overs or all with --full (exit 1 on any break)',
  help: HELP,
  run: runAudit,
};
