/**
 * EK certificate path building on the checked-in swtpm chain (the TCG EK
 * profile's critical SubjectAltName included), against look-alike CAs made
 * with the openssl CLI: same names, different keys.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import {
  checkEkAllowList,
  checkEkMatchesCertificate,
  derLength,
  ekHash,
  trimDer,
  verifyEkCertificate,
} from '../../bus-schemas/tpm/ek-certificate.js';
import { parseTpm2bPublic } from '../../bus-schemas/tpm/tpm-public.js';
import { refuses } from '../helpers/refuses.js';
import { ekTemplateFor, loadQuoteVector, unb64 } from './tpm-fixtures.js';

const v = loadQuoteVector('swtpm-quote-ecc-ak');
const cert = unb64(v.ek_certificate);
const ek = parseTpm2bPublic(unb64(v.ek_public));
const now = v.now_ms;
const anchors = { roots: [v.root_ca_pem], intermediates: [v.intermediate_ca_pem] };

/** A self-signed CA (and an intermediate under it) with swtpm's names but our own keys. */
function lookAlikeCas(): { root: string; intermediate: string } {
  const dir = mkdtempSync(join(tmpdir(), 'holonet-rogue-ca-'));
  try {
    const ossl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    writeFileSync(join(dir, 'ext.cnf'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n');
    ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-subj', '/CN=swtpm-localca-rootca', '-days', '3650', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
    ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'mid.key', '-out', 'mid.csr', '-subj', '/CN=swtpm-localca');
    ossl('x509', '-req', '-in', 'mid.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'mid.pem', '-days', '3650', '-extfile', 'ext.cnf');
    return { root: readFileSync(join(dir, 'root.pem'), 'utf8'), intermediate: readFileSync(join(dir, 'mid.pem'), 'utf8') };
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') throw new Error('openssl not found: install the Debian package openssl');
    throw e;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void t.test('the swtpm EK certificate chains: leaf → intermediate → root, critical SAN tolerated', async (t) => {
  const leaf = new X509Certificate(cert);
  t.match(leaf.subjectAltName ?? '', /DirName/, 'the TCG EK profile SAN (critical directoryName) is there');
  const ok = verifyEkCertificate(cert, anchors, now);
  t.same(ok.chain.map((c) => c.subject), ['CN=unknown', 'CN=swtpm-localca', 'CN=swtpm-localca-rootca']);
  checkEkMatchesCertificate(ek, ok.certificate);
  t.ok(verifyEkCertificate(cert, { roots: [v.intermediate_ca_pem] }, now), 'a pinned intermediate is an anchor too');
  t.ok(verifyEkCertificate(Buffer.from(new X509Certificate(cert).toString()).toString('utf8'), anchors, now), 'PEM input');
});

void t.test('no path, no trust', async (t) => {
  refuses(t, () => verifyEkCertificate(cert, { roots: [] }, now), { code: 'HOLON_E_TPM_EK_UNTRUSTED', detail: 'no trusted CA configured' });
  refuses(t, () => verifyEkCertificate(cert, { roots: [v.root_ca_pem] }, now), { code: 'HOLON_E_TPM_EK_UNTRUSTED', detail: /no trusted issuer for "CN=swtpm-localca"/ });
  refuses(t, () => verifyEkCertificate(cert, { roots: [cert] }, now), { code: 'HOLON_E_TPM_EK_UNTRUSTED' }, 'the leaf is not its own anchor');
  const rogue = lookAlikeCas();
  refuses(t, () => verifyEkCertificate(cert, { roots: [rogue.root], intermediates: [rogue.intermediate] }, now), { code: 'HOLON_E_TPM_EK_UNTRUSTED' }, 'look-alike names, wrong keys');
  refuses(t, () => verifyEkCertificate(cert, { roots: [rogue.root], intermediates: [v.intermediate_ca_pem] }, now), { code: 'HOLON_E_TPM_EK_UNTRUSTED' }, 'real intermediate under a look-alike root');
  t.ok(verifyEkCertificate(cert, { roots: [v.root_ca_pem, rogue.root], intermediates: [rogue.intermediate, v.intermediate_ca_pem] }, now), 'the real path is found among decoys');
});

void t.test('validity windows are checked at the injected time', async (t) => {
  const leaf = new X509Certificate(cert);
  const notBefore = Date.parse(leaf.validFrom);
  refuses(t, () => verifyEkCertificate(cert, anchors, notBefore - 1000), { code: 'HOLON_E_TPM_EK_UNTRUSTED', detail: /validity window/ });
  refuses(t, () => verifyEkCertificate(cert, anchors, Date.parse(leaf.validTo) + 1000), { code: 'HOLON_E_TPM_EK_UNTRUSTED' });
});

void t.test('the certificate must certify this EK; allow-list by EK hash', async (t) => {
  const { generateKeyPairSync } = await import('node:crypto');
  const other = ekTemplateFor(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
  refuses(t, () => checkEkMatchesCertificate(other, new X509Certificate(cert)), { code: 'HOLON_E_TPM_EK_MISMATCH' });
  t.match(ekHash(ek), /^sha256:[0-9a-f]{64}$/);
  t.equal(checkEkAllowList(ek, new Set([ekHash(other), ekHash(ek)])), ekHash(ek));
  refuses(t, () => checkEkAllowList(other, [ekHash(ek)]), { code: 'HOLON_E_TPM_EK_UNTRUSTED' });
});

void t.test('NV padding is trimmed to the DER length; garbage is typed', async (t) => {
  const padded = Buffer.concat([cert, Buffer.alloc(100, 0xff)]);
  t.equal(derLength(padded), cert.length);
  t.equal(Buffer.compare(trimDer(padded), cert), 0, 'trimmed to the certificate');
  refuses(t, () => derLength(cert.subarray(0, 100)), { code: 'HOLON_E_TPM_MALFORMED' });
  refuses(t, () => verifyEkCertificate(Buffer.from('not a certificate'), anchors, now), { code: 'HOLON_E_TPM_MALFORMED' });
});
