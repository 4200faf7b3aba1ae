/**
 * What can stop holon-agent, one class per failure mode (STYLE: errors are
 * data). Each carries a stable code and what an operator needs to act; none
 * ever carries key material.
 */
import { HolonError } from '../bus-schemas/errors.js';

/** The config file is missing, unreadable, not JSON, or violates the schema. Exit 78. */
export class AgentConfigError extends HolonError {
  static readonly CODE = 'HOLON_E_AGENT_CONFIG';
  readonly file: string;
  readonly path: string;
  readonly reason: string;
  constructor(file: string, path: string, reason: string, options?: { cause?: unknown }) {
    super(AgentConfigError.CODE, `agent config ${file}: ${path}: ${reason}`, options);
    this.file = file;
    this.path = path;
    this.reason = reason;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, file: this.file, path: this.path, reason: this.reason };
  }
}

/** A key file (machine key, NATS seed, .creds) is unusable: wrong mode, unreadable, not a key. Exit 78. */
export class KeyFileError extends HolonError {
  static readonly CODE = 'HOLON_E_AGENT_KEY_FILE';
  readonly file: string;
  readonly reason: string;
  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super(KeyFileError.CODE, `agent key file ${file}: ${reason}`, options);
    this.file = file;
    this.reason = reason;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, file: this.file, reason: this.reason };
  }
}

/** state.json is unreadable or an event does not fit the state it is in. */
export class AgentStateError extends HolonError {
  static readonly CODE = 'HOLON_E_AGENT_STATE';
  readonly reason: string;
  constructor(reason: string, options?: { cause?: unknown }) {
    super(AgentStateError.CODE, `agent state: ${reason}`, options);
    this.reason = reason;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, reason: this.reason };
  }
}

/** The cell's answer is not what the protocol allows (bad seal, wrong machine, wrong cell, unparsable). */
export class CellReplyError extends HolonError {
  static readonly CODE = 'HOLON_E_AGENT_BAD_REPLY';
  readonly subject: string;
  readonly reason: string;
  constructor(subject: string, reason: string, options?: { cause?: unknown }) {
    super(CellReplyError.CODE, `agent: reply on ${subject}: ${reason}`, options);
    this.subject = subject;
    this.reason = reason;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, subject: this.subject, reason: this.reason };
  }
}

/**
 * The cell refused this machine (a sealed BootstrapStatusV1 REFUSED or a
 * sealed RefusalV1). `code` is the agent's; `cellCode` is the cell's typed
 * reason (HOLON_E_BOOT_…), also recorded in state.json.
 */
export class CellRefusedError extends HolonError {
  static readonly CODE = 'HOLON_E_AGENT_REFUSED';
  readonly subject: string;
  readonly cellCode: string;
  readonly reason: string;
  /** true when the refusal was sealed by the certified cell key (not just by someone). */
  readonly authenticated: boolean;
  constructor(subject: string, cellCode: string, reason: string, authenticated: boolean) {
    super(CellRefusedError.CODE, `agent: ${subject} refused by the cell (${cellCode}): ${reason}`);
    this.subject = subject;
    this.cellCode = cellCode;
    this.reason = reason;
    this.authenticated = authenticated;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, subject: this.subject, cell_code: this.cellCode, reason: this.reason, authenticated: this.authenticated };
  }
}
