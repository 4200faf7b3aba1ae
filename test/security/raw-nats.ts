/**
 * A minimal NATS client protocol speaker over a plain TCP socket, for the
 * attack suite: it is deliberately NOT the project's bus adapter (nor nats.js),
 * so the attacks send exactly the bytes an attacker would — any reply subject,
 * any payload — and see exactly what the server sends back.
 *
 * Protocol (docs.nats.io "Client Protocol"): the server greets with INFO (with
 * a nonce in operator mode); the client answers CONNECT carrying its user JWT
 * and the nonce signed by its user nkey, then PUB / SUB; the server sends MSG,
 * HMSG, PING, +OK and -ERR lines (permission violations are -ERR lines).
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { fromSeed } from '@nats-io/nkeys';

export interface RawMessage {
  subject: string;
  sid: number;
  reply: string | undefined;
  data: Buffer;
}

export interface RawClient {
  /** every -ERR line the server sent */
  readonly errors: string[];
  readonly messages: RawMessage[];
  pub(subject: string, payload: Uint8Array | string, reply?: string): void;
  sub(subject: string): number;
  /** PING/PONG: everything sent before has been processed by the server. */
  flush(timeoutMs?: number): Promise<void>;
  /** Wait until `pred` holds for a received message, or time out (undefined). */
  waitFor(pred: (m: RawMessage) => boolean, timeoutMs?: number): Promise<RawMessage | undefined>;
  close(): void;
}

/** Parse the user JWT and seed out of a .creds file. */
export function parseCreds(text: string): { jwt: string; seed: string } {
  const jwt = /-{5,6}BEGIN NATS USER JWT-{5,6}\s*(\S+)\s*-{5,6}END NATS USER JWT/.exec(text)?.[1];
  const seed = /-{5,6}BEGIN USER NKEY SEED-{5,6}\s*(\S+)\s*-{5,6}END USER NKEY SEED/.exec(text)?.[1];
  if (jwt === undefined || seed === undefined) throw new Error('not a .creds file');
  return { jwt, seed };
}

export async function rawConnect(url: string, creds: string | undefined, name = 'raw-attacker'): Promise<RawClient> {
  const u = new URL(url);
  const sock: Socket = tcpConnect({ host: u.hostname, port: Number(u.port) });
  const errors: string[] = [];
  const messages: RawMessage[] = [];
  const waiters = new Set<() => void>();
  const pongs: (() => void)[] = [];
  let buf = Buffer.alloc(0);
  let info: Record<string, unknown> | undefined;
  let infoResolve: (() => void) | undefined;
  const infoSeen = new Promise<void>((r) => (infoResolve = r));
  let sid = 0;

  const notify = (): void => {
    for (const w of waiters) w();
  };
  const parse = (): void => {
    for (;;) {
      const eol = buf.indexOf('\r\n');
      if (eol < 0) return;
      const line = buf.subarray(0, eol).toString('utf8');
      const op = line.split(' ', 1)[0]?.toUpperCase();
      if (op === 'MSG' || op === 'HMSG') {
        const parts = line.split(' ');
        const hasReply = op === 'MSG' ? parts.length === 5 : parts.length === 6;
        const total = Number(parts[parts.length - 1]);
        const headerLen = op === 'HMSG' ? Number(parts[parts.length - 2]) : 0;
        if (buf.length < eol + 2 + total + 2) return;
        const body = buf.subarray(eol + 2 + headerLen, eol + 2 + total);
        messages.push({ subject: parts[1] as string, sid: Number(parts[2]), reply: hasReply ? parts[3] : undefined, data: Buffer.from(body) });
        buf = buf.subarray(eol + 2 + total + 2);
        notify();
        continue;
      }
      buf = buf.subarray(eol + 2);
      if (op === 'INFO') {
        info = JSON.parse(line.slice(5)) as Record<string, unknown>;
        infoResolve?.();
      } else if (op === 'PING') sock.write('PONG\r\n');
      else if (op === 'PONG') pongs.shift()?.();
      else if (op === '-ERR') {
        errors.push(line);
        notify();
      }
    }
  };
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    parse();
  });
  sock.on('error', () => undefined);
  await infoSeen;
  const connectOpts: Record<string, unknown> = { verbose: false, pedantic: false, protocol: 1, headers: true, no_responders: true, echo: false, name, lang: 'raw', version: '0' };
  if (creds !== undefined) {
    const { jwt, seed } = parseCreds(creds);
    const nonce = typeof info?.nonce === 'string' ? info.nonce : '';
    const sig = fromSeed(new TextEncoder().encode(seed)).sign(new TextEncoder().encode(nonce));
    connectOpts.jwt = jwt;
    connectOpts.sig = Buffer.from(sig).toString('base64url');
  }
  sock.write(`CONNECT ${JSON.stringify(connectOpts)}\r\n`);

  const client: RawClient = {
    errors,
    messages,
    pub(subject, payload, reply) {
      const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
      sock.write(`PUB ${subject}${reply !== undefined ? ` ${reply}` : ''} ${data.length}\r\n`);
      sock.write(Buffer.concat([data, Buffer.from('\r\n')]));
    },
    sub(subject) {
      sid += 1;
      sock.write(`SUB ${subject} ${sid}\r\n`);
      return sid;
    },
    flush(timeoutMs = 5000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('raw-nats: no PONG')), timeoutMs);
        pongs.push(() => {
          clearTimeout(timer);
          resolve();
        });
        sock.write('PING\r\n');
      });
    },
    waitFor(pred, timeoutMs = 3000) {
      return new Promise((resolve) => {
        const check = (): void => {
          const m = messages.find(pred);
          if (m !== undefined) done(m);
        };
        const done = (m: RawMessage | undefined): void => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(m);
        };
        const timer = setTimeout(() => done(undefined), timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      sock.destroy();
    },
  };
  await client.flush();
  if (errors.some((e) => /Authorization Violation/i.test(e))) throw new Error(`raw-nats: ${errors.join('; ')}`);
  return client;
}
