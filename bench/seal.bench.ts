/**
 * Seal/verify throughput and canonical encoding cost, each next to the raw
 * primitive it wraps measured in the same run.
 */
import { createHash, createPrivateKey, sign as rawSign, verify as rawVerify, createPublicKey } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { canonicalBytes } from '../bus-schemas/canonical.js';
import { digestOf } from '../bus-schemas/digest.js';
import { generateEd25519, signerFromSeed } from '../bus-schemas/keys.js';
import { makeSeal, sealMessage, verifySealOver } from '../bus-schemas/seal.js';
import { opsPerSecond, round, type BenchResult } from './measure.js';

const TAG = 'holonet.v1.Bench';

/** A ~1 KB object shaped like a provisioning request. */
function kilobyteObject(): Record<string, unknown> {
  const obj: Record<string, unknown> = {
    requested_role: 'BUILD_WORKER',
    tenant: 'acme-builds',
    resource_budget: { compute_cpu_seconds: 3600, storage_bytes: 10_000_000_000, cost_usd_cents: 500 },
    grants: [] as unknown[],
  };
  const grants = obj.grants as unknown[];
  while (JSON.stringify(obj).length < 1024) {
    grants.push({ action: `/provision/BUILD_WORKER/${grants.length}`, resource: 'holon.abc.>', not_after: 1_900_000_000_000 });
  }
  return obj;
}

export default async function bench(): Promise<BenchResult[]> {
  const kp = generateEd25519();
  const signer = signerFromSeed(kp.seed);
  const body = kilobyteObject();
  const bytes = JSON.stringify(body).length;
  const seal = makeSeal(TAG, body, signer);
  const msg = sealMessage(TAG, body);

  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), kp.seed]);
  const priv = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const pub = createPublicKey(priv);
  const rawSig = rawSign(null, msg, priv);

  const sealOps = opsPerSecond(() => makeSeal(TAG, body, signer));
  const rawSignOps = opsPerSecond(() => rawSign(null, msg, priv));
  const verifyOps = opsPerSecond(() => verifySealOver(TAG, body, seal));
  const rawVerifyOps = opsPerSecond(() => rawVerify(null, msg, pub, rawSig));
  const nobleVerifyOps = opsPerSecond(() => ed25519.verify(rawSig, msg, kp.publicKey), { ms: 500 });

  const encodeOps = opsPerSecond(() => digestOf(TAG, body));
  const rawEncodeOps = opsPerSecond(() => createHash('sha256').update(JSON.stringify(body)).digest());

  return [
    {
      name: 'seal_1kb',
      value: round(sealOps, 0),
      unit: 'ops/s',
      baseline: { name: 'node:crypto ed25519 sign of the 47-byte seal message', value: round(rawSignOps, 0), unit: 'ops/s' },
      meta: { object_bytes: bytes, canonical_bytes: canonicalBytes(body).length },
    },
    {
      name: 'verify_seal_1kb',
      value: round(verifyOps, 0),
      unit: 'ops/s',
      baseline: { name: 'node:crypto ed25519 verify of the seal message', value: round(rawVerifyOps, 0), unit: 'ops/s' },
      meta: { noble_pure_js_verify_ops_s: round(nobleVerifyOps, 0) },
    },
    {
      name: 'canonical_digest_1kb',
      value: round(encodeOps, 0),
      unit: 'ops/s',
      baseline: { name: 'JSON.stringify + sha256 (not canonical)', value: round(rawEncodeOps, 0), unit: 'ops/s' },
      meta: { object_bytes: bytes },
    },
  ];
}
