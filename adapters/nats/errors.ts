/**
 * Errors of the NATS adapter. Every message starts `bus(nats): ` and names
 * the server it was talking to; none ever carries a credential (creds files
 * are named by path, never by content).
 */
import { HolonError } from '../../bus-schemas/errors.js';

export class BusError extends HolonError {
  readonly server: string;
  constructor(code: string, server: string, message: string, options?: { cause?: unknown }) {
    super(code, `bus(nats): ${message} [${server}]`, options);
    this.server = server;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, server: this.server };
  }
}

/** Could not connect (refused, auth failed, timed out) or the connection closed under us. */
export class BusConnectError extends BusError {
  static readonly CODE = 'HOLON_E_BUS_CONNECT';
  constructor(server: string, message: string, options?: { cause?: unknown }) {
    super(BusConnectError.CODE, server, message, options);
  }
}

/** Bad adapter configuration (unreadable creds file, conflicting auth options). */
export class BusConfigError extends BusError {
  static readonly CODE = 'HOLON_E_BUS_CONFIG';
  readonly option: string;
  constructor(server: string, option: string, message: string, options?: { cause?: unknown }) {
    super(BusConfigError.CODE, server, `${option}: ${message}`, options);
    this.option = option;
  }
}

/** An existing stream's config cannot be reconciled with ours; names the field. */
export class StreamConflictError extends BusError {
  static readonly CODE = 'HOLON_E_BUS_STREAM_CONFLICT';
  readonly stream: string;
  readonly field: string;
  readonly existing: unknown;
  readonly wanted: unknown;
  constructor(server: string, stream: string, field: string, existing: unknown, wanted: unknown, why: string) {
    super(
      StreamConflictError.CODE,
      server,
      `stream ${stream}: ${field} is ${JSON.stringify(existing)} on the server, we need ${JSON.stringify(wanted)} (${why})`,
    );
    this.stream = stream;
    this.field = field;
    this.existing = existing;
    this.wanted = wanted;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), stream: this.stream, field: this.field, existing: this.existing, wanted: this.wanted };
  }
}

/** A JetStream or request/reply operation failed (timeout, no responders, API error). */
export class BusRequestError extends BusError {
  static readonly CODE = 'HOLON_E_BUS_REQUEST';
  readonly subject: string;
  constructor(server: string, subject: string, message: string, options?: { cause?: unknown }) {
    super(BusRequestError.CODE, server, `${subject}: ${message}`, options);
    this.subject = subject;
  }
}

/** A reply arrived but is neither the expected type nor a valid refusal. */
export class BadReplyError extends BusError {
  static readonly CODE = 'HOLON_E_BUS_BAD_REPLY';
  readonly subject: string;
  constructor(server: string, subject: string, message: string, options?: { cause?: unknown }) {
    super(BadReplyError.CODE, server, `${subject}: bad reply: ${message}`, options);
    this.subject = subject;
  }
}

/** The ledger writer could not append (conflicts kept winning, or the owner's tail is not a valid entry). */
export class LedgerAppendError extends BusError {
  static readonly CODE = 'HOLON_E_LEDGER_APPEND';
  readonly owner: string;
  constructor(server: string, owner: string, message: string, options?: { cause?: unknown }) {
    super(LedgerAppendError.CODE, server, `ledger ${owner}: ${message}`, options);
    this.owner = owner;
  }
}

/** Short text of an unknown thrown value, for wrapping (never a stack). */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** A service already has its maximum number of requests in flight; the request was refused, not queued. */
export class ServiceBusyError extends BusError {
  static readonly CODE = 'HOLON_E_BUSY';
  readonly subject: string;
  constructor(server: string, subject: string, limit: number) {
    super(ServiceBusyError.CODE, server, `${subject}: ${limit} requests already in flight; retry later`);
    this.subject = subject;
  }
}
