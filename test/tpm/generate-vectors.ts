/**
 * Regenerate test/vectors/tpm/*.json from a freshly manufactured swtpm:
 *   npx tsc -p tsconfig.json && node dist/test/tpm/generate-vectors.js
 * Each vector is one real quote (ECDSA P-256 AK, RSASSA-2048 AK) with the EK
 * certificate chain, so the parser, verifier and fuzz tests run without a TPM.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TpmAttestor } from '../../adapters/tpm/index.js';
import { startSwtpm } from '../harness/swtpm.js';
import { b64, checkquote, hex, toolMakeCredential, vectorDir, type QuoteVector } from './tpm-fixtures.js';

async function capture(tcti: string, akAlgorithm: 'ecc' | 'rsa', roots: { root: string; intermediate: string }): Promise<QuoteVector> {
  const stateDir = mkdtempSync(join(tmpdir(), 'holonet-vec-'));
  try {
    const attestor = new TpmAttestor({ stateDir, tcti, akAlgorithm });
    const id = await attestor.provision();
    const pcrSelection = { bank: 'sha256' as const, pcrs: [0, 1, 2, 3, 7, 16] };
    const qualifyingData = randomBytes(32);
    const q = await attestor.quote(pcrSelection, qualifyingData);
    const ref = await checkquote({ akPublic: id.akPublic, ...q, qualifyingData });
    if (!ref.accepted) throw new Error(`tpm2_checkquote refused the fresh quote: ${ref.stderr}`);
    if (id.ekCertificate === undefined) throw new Error('swtpm has no RSA EK certificate in NV');
    return {
      description: `swtpm 0.7.1 quote by a ${akAlgorithm === 'ecc' ? 'ECDSA P-256' : 'RSASSA-2048'} AK under the RSA EK, via tpm2-tools 5.4`,
      generated_at: new Date().toISOString(),
      now_ms: Date.now(),
      root_ca_pem: roots.root,
      intermediate_ca_pem: roots.intermediate,
      ek_certificate: b64(id.ekCertificate),
      ek_public: b64(id.ekPublic),
      ak_public: b64(id.akPublic),
      ak_name: hex(id.akName),
      pcr_selection: pcrSelection,
      qualifying_data: hex(qualifyingData),
      attest: b64(q.attest),
      signature: b64(q.signature),
      pcr_values: q.pcrValues.map(hex),
    };
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** tpm2_makecredential --tcti none output for a software EK whose private key we keep, so the seed can be recovered. */
async function makecredentialVector(algorithm: 'rsa' | 'ecc'): Promise<Record<string, string>> {
  const { privateKey, publicKey } =
    algorithm === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const name = Buffer.concat([Buffer.from('000b', 'hex'), randomBytes(32)]);
  const secret = randomBytes(32);
  const file = await toolMakeCredential(publicKey.export({ type: 'spki', format: 'pem' }) as string, algorithm, name, secret);
  return {
    description: `tpm2_makecredential --tcti none -G ${algorithm} output for a software EK (private key kept for seed recovery)`,
    ek_private_pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    name: hex(name),
    secret: hex(secret),
    tool_output: b64(file),
  };
}

for (const alg of ['rsa', 'ecc'] as const) {
  const file = join(vectorDir, `makecredential-${alg}.json`);
  writeFileSync(file, `${JSON.stringify(await makecredentialVector(alg), null, 2)}\n`);
  process.stderr.write(`wrote ${file}\n`);
}

const tpm = await startSwtpm();
try {
  const roots = { root: tpm.rootCaPem, intermediate: tpm.intermediateCaPem };
  for (const alg of ['ecc', 'rsa'] as const) {
    const v = await capture(tpm.tcti, alg, roots);
    const file = join(vectorDir, `swtpm-quote-${alg}-ak.json`);
    writeFileSync(file, `${JSON.stringify(v, null, 2)}\n`);
    process.stderr.write(`wrote ${file}\n`);
  }
} finally {
  await tpm.stop();
}
