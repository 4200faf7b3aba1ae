/**
 * The requesting half of signed request/reply (bus-schemas/signed-reply.ts),
 * and its two users: requestSigned (adapters/nats) and the agent's
 * decodeCellReply. Both now refuse a refusal of another request.
 */
import t from 'tap';
import { BadReplyError } from '../../adapters/nats/errors.js';
import { requestSigned } from '../../adapters/nats/request-reply.js';
import type { BusConnection } from '../../adapters/nats/connect.js';
import { CellRefusedError, CellReplyError } from '../../agent/agent-error.js';
import { decodeCellReply } from '../../agent/bus-port.js';
import { digestRaw } from '../../bus-schemas/digest.js';
import { MalformedError, OversizeError, SealError } from '../../bus-schemas/errors.js';
import { integer, object, string, type Infer } from '../../bus-schemas/schema.js';
import { AuthoritySealV1Schema } from '../../bus-schemas/seal.js';
import { decodeSignedReply, type SignedReply, type SignedReplyOptions } from '../../bus-schemas/signed-reply.js';
import { RefusalV1, RefusedError, sealRefusal } from '../../bus-schemas/v1/refusal.js';
import { defineSealedObject } from '../../bus-schemas/wire.js';
import { refusesAsync } from '../helpers/refuses.js';
import { SIGNERS, keyId } from './v1/sample-keys.js';

const AskSchema = object({ text: string({ max: 100 }), requester_seal: AuthoritySealV1Schema });
type Ask = Infer<typeof AskSchema>;
const Ask = defineSealedObject('AskV1', AskSchema, 'requester_seal', { maxBytes: 1024 });
const AnswerSchema = object({ n: integer({ max: 1000 }), server_seal: AuthoritySealV1Schema });
type Answer = Infer<typeof AnswerSchema>;
const Answer = defineSealedObject('AnswerV1', AnswerSchema, 'server_seal', { maxBytes: 1024 });

const cell = SIGNERS.cell;
const cellKey = keyId(cell);
const stranger = SIGNERS.witness;
const at = { unix_ms: 1_700_000_000_000, source: 'SYSTEM' as const };
const sent = Ask.encode(Ask.seal({ text: 'hello' }, SIGNERS.machine));
const sentDigest = digestRaw(sent);
const otherDigest = digestRaw(new TextEncoder().encode('another request'));
const answer = Answer.encode(Answer.seal({ n: 7 }, cell));
const refusal = (requestDigest: typeof sentDigest | undefined, by = cell): Uint8Array =>
  RefusalV1.encode(sealRefusal(new MalformedError('$.text', 'too rude'), { signer: by, at, ...(requestDigest !== undefined ? { requestDigest } : {}) }));

const decode = (bytes: Uint8Array, extra: Partial<SignedReplyOptions<Answer>> = {}): SignedReply<Answer> =>
  decodeSignedReply(bytes, { replyType: Answer, requestDigest: sentDigest, replySealedBy: cellKey, refusalSealedBy: cellKey, ...extra });

void t.test('decodeSignedReply: the reply, a refusal of this request, or why neither', async (t) => {
  t.match(decode(answer), { kind: 'reply', value: { n: 7 } });
  t.match(decode(refusal(sentDigest)), { kind: 'refusal', refusal: { code: 'HOLON_E_MALFORMED', request_digest: sentDigest } }, 'a refusal of this request');
  t.match(decode(refusal(undefined)), { kind: 'refusal' }, 'a refusal naming no request is taken as one of this request');
  t.same(decode(refusal(otherDigest)), { kind: 'other-request', refusal: RefusalV1.decode(refusal(otherDigest)), requestDigest: otherDigest }, 'a refusal of another request');
  t.match(decode(refusal(otherDigest), { requestDigest: undefined }), { kind: 'refusal' }, 'without a digest to compare, it cannot be told apart');

  const bySomeoneElse = decode(refusal(sentDigest, stranger));
  t.equal(bySomeoneElse.kind, 'bad-refusal', 'a refusal sealed by another key than the one named');
  t.type((bySomeoneElse as { error: unknown }).error, SealError);
  t.match(decode(refusal(sentDigest, stranger), { refusalSealedBy: undefined }), { kind: 'refusal' }, 'any valid seal when no key is named');
  const big = RefusalV1.encode(sealRefusal(new MalformedError('$.x', 'x'.repeat(500)), { signer: cell, at }));
  const padded = new Uint8Array([...new TextEncoder().encode(' '.repeat(RefusalV1.maxBytes)), ...big]);
  t.match(decode(padded, { replyType: { ...Answer, maxBytes: 8192 } }), { kind: 'bad-refusal', error: { reason: `refusal larger than ${RefusalV1.maxBytes} bytes` } });

  t.match(decode(new TextEncoder().encode('{"n":')), { kind: 'not-json', error: { code: 'HOLON_E_MALFORMED' } });
  const notJson = decode(new Uint8Array(RefusalV1.maxBytes + 1));
  t.equal(notJson.kind, 'not-json');
  t.type((notJson as { error: unknown }).error, OversizeError);
  t.match(decode(new TextEncoder().encode('{"n":7}')), { kind: 'bad-reply', error: { code: 'HOLON_E_MALFORMED' } });
  const forged = Answer.encode(Answer.seal({ n: 7 }, stranger));
  t.match(decode(forged), { kind: 'bad-seal', error: { code: 'HOLON_E_BAD_SEAL' } }, 'sealed by another key');
  t.match(decode(forged, { replySealedBy: 'any' }), { kind: 'reply' }, "'any': its own seal verifies");
  const tampered = new TextEncoder().encode(new TextDecoder().decode(answer).replace('"n":7', '"n":8'));
  t.match(decode(tampered, { replySealedBy: 'any' }), { kind: 'bad-seal' }, "'any' still checks the seal");
  t.match(decode(tampered, { replySealedBy: 'deferred' }), { kind: 'reply', value: { n: 8 } }, "'deferred' leaves it to the caller");
});

/** A connection whose every request is answered with `reply`. */
function fakeConnection(reply: Uint8Array): BusConnection {
  return { server: 'nats://fake:4222', nc: { request: () => Promise.resolve({ data: reply }) } } as unknown as BusConnection;
}
const ask = (reply: Uint8Array): Promise<Answer> =>
  requestSigned(fakeConnection(reply), { subject: 'api.ask', requestType: Ask, request: Ask.decode(sent), replyType: Answer, responder: cellKey });

void t.test('requestSigned: a refusal of another request is a bad reply, not a refusal', async (t) => {
  t.match(await ask(answer), { n: 7 });
  await refusesAsync(t, () => ask(refusal(sentDigest)), RefusedError);
  await refusesAsync(t, () => ask(refusal(otherDigest)), { code: 'HOLON_E_BUS_BAD_REPLY', message: `bus(nats): api.ask: bad reply: refusal is for another request (${otherDigest}) [nats://fake:4222]` });
  await refusesAsync(t, () => ask(refusal(sentDigest, stranger)), { code: 'HOLON_E_BUS_BAD_REPLY', message: /api\.ask: bad reply: refusal does not verify: seal: / });
  await refusesAsync(t, () => ask(Answer.encode(Answer.seal({ n: 7 }, stranger))), { code: 'HOLON_E_BUS_BAD_REPLY', message: /api\.ask: bad reply: not a valid AnswerV1: seal: / });
  const e = await refusesAsync(t, () => ask(new TextEncoder().encode('nope')), BadReplyError);
  t.match(e?.message, /api\.ask: bad reply: /);
});

void t.test('decodeCellReply: a refusal of another request is a CellReplyError, not a refusal by the cell', async (t) => {
  const subject = 'holon.x.unit';
  t.match(decodeCellReply(subject, answer, Answer, cellKey, sentDigest), { n: 7 });
  t.throws(() => decodeCellReply(subject, refusal(sentDigest), Answer, cellKey, sentDigest), { code: CellRefusedError.CODE, authenticated: true, cellCode: 'HOLON_E_MALFORMED' });
  t.throws(
    () => decodeCellReply(subject, refusal(otherDigest), Answer, cellKey, sentDigest),
    { code: CellReplyError.CODE, message: `agent: reply on ${subject}: a refusal of another request (${otherDigest})` },
    'the request digest is checked when the agent passes it',
  );
  t.throws(() => decodeCellReply(subject, refusal(otherDigest), Answer, cellKey), { code: CellRefusedError.CODE }, 'callers that pass none (the bootstrap client) keep the old behaviour');
  t.throws(() => decodeCellReply(subject, refusal(sentDigest, stranger), Answer, cellKey, sentDigest), { code: CellRefusedError.CODE, authenticated: false }, 'a refusal by another key is unauthenticated');
  t.throws(() => decodeCellReply(subject, Answer.encode(Answer.seal({ n: 7 }, stranger)), Answer, cellKey), {
    code: CellReplyError.CODE,
    message: `agent: reply on ${subject}: AnswerV1 is not sealed by the certified cell key ${cellKey}`,
  });
  t.match(decodeCellReply(subject, Answer.encode(Answer.seal({ n: 7 }, stranger)), Answer, undefined), { n: 7 }, 'before the hello the seal is the caller\'s to check');
  t.throws(() => decodeCellReply(subject, new TextEncoder().encode('{"n":7}'), Answer, cellKey), { code: CellReplyError.CODE, message: /: not a valid AnswerV1: / });
  t.throws(() => decodeCellReply(subject, new TextEncoder().encode('nope'), Answer, cellKey), { code: CellReplyError.CODE, message: /: not JSON: / });
});
