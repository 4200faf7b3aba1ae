/**
 * Errors are data: one class per failure mode, each with a stable `code`
 * that scripts and the wire can rely on, plus the context an operator needs.
 */
export class HolonError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** The wire/JSON form of a refusal: stable code, human message, context. */
  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message };
  }
}

/** Input did not match the schema: names the JSON path and the reason. */
export class MalformedError extends HolonError {
  static readonly CODE = 'HOLON_E_MALFORMED';
  readonly path: string;
  readonly reason: string;
  constructor(path: string, reason: string) {
    super(MalformedError.CODE, `${path}: ${reason}`);
    this.path = path;
    this.reason = reason;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, path: this.path, reason: this.reason };
  }
}

/** Input is larger than the object's byte limit; refused before parsing. */
export class OversizeError extends HolonError {
  static readonly CODE = 'HOLON_E_OVERSIZE';
  readonly size: number;
  readonly limit: number;
  constructor(what: string, size: number, limit: number) {
    super(OversizeError.CODE, `${what}: ${size} bytes exceeds the limit of ${limit} bytes`);
    this.size = size;
    this.limit = limit;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, size: this.size, limit: this.limit };
  }
}

/** A seal did not verify: wrong key, wrong domain, altered body or bad bytes. */
export class SealError extends HolonError {
  static readonly CODE = 'HOLON_E_BAD_SEAL';
  readonly reason: string;
  constructor(reason: string) {
    super(SealError.CODE, `seal: ${reason}`);
    this.reason = reason;
  }
  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, reason: this.reason };
  }
}
