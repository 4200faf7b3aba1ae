import { malformed } from './tpm-verify-error.js';

/**
 * A bounds-checked big-endian cursor over TPM marshalled bytes. Every read
 * checks the remaining length first, so a parser built on it can only fail
 * with TpmVerifyError('malformed', …) naming the structure and offset — never
 * a RangeError from a Buffer read on hostile input.
 */
export class TpmReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #what: string;
  #offset = 0;

  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#what = what;
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  #need(n: number, field: string): void {
    if (n > this.remaining) {
      throw malformed(`${this.#what}.${field}`, `needs ${n} bytes at offset ${this.#offset}, only ${this.remaining} left`);
    }
  }

  u8(field: string): number {
    this.#need(1, field);
    const v = this.#view.getUint8(this.#offset);
    this.#offset += 1;
    return v;
  }

  u16(field: string): number {
    this.#need(2, field);
    const v = this.#view.getUint16(this.#offset);
    this.#offset += 2;
    return v;
  }

  u32(field: string): number {
    this.#need(4, field);
    const v = this.#view.getUint32(this.#offset);
    this.#offset += 4;
    return v;
  }

  u64(field: string): bigint {
    this.#need(8, field);
    const v = this.#view.getBigUint64(this.#offset);
    this.#offset += 8;
    return v;
  }

  /** `n` raw bytes (a copy, so callers may keep it). */
  bytes(n: number, field: string): Uint8Array {
    this.#need(n, field);
    const v = this.#bytes.slice(this.#offset, this.#offset + n);
    this.#offset += n;
    return v;
  }

  /** A TPM2B: 2-byte size then that many bytes; `max` bounds the size. */
  tpm2b(field: string, max: number): Uint8Array {
    const size = this.u16(`${field}.size`);
    if (size > max) throw malformed(`${this.#what}.${field}`, `size ${size} exceeds the maximum of ${max}`);
    return this.bytes(size, field);
  }

  /** Refuse trailing bytes: a structure must span exactly its buffer. */
  end(): void {
    if (this.remaining !== 0) {
      throw malformed(this.#what, `${this.remaining} unexpected trailing bytes at offset ${this.#offset}`);
    }
  }
}

/** Big-endian marshalling for the few structures we build ourselves. */
export function u16be(n: number): Uint8Array {
  return Uint8Array.of((n >>> 8) & 0xff, n & 0xff);
}

export function u32be(n: number): Uint8Array {
  return Uint8Array.of((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** size ‖ bytes. */
export function marshalTpm2b(bytes: Uint8Array): Uint8Array {
  return concatBytes(u16be(bytes.length), bytes);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
