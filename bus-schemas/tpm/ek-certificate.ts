import { X509Certificate, timingSafeEqual } from 'node:crypto';
import { digestRaw, type CasDigest } from '../digest.js';
import { spkiOf, type TpmPublic } from './tpm-public.js';
import { TpmVerifyError, malformed } from './tpm-verify-error.js';

/**
 * EK trust: either the EK certificate chains to a manufacturer CA we trust,
 * or the EK's hash is on an allow-list (principal pre-approval, TPMs without
 * certificates). node's X509Certificate.verify() only checks one signature,
 * and OpenSSL's full path validation rejects the TCG EK profile's critical
 * SubjectAltName (a directoryName of TPM manufacturer/model/version), so the
 * chain is built here: issuer/subject match (with AKID/keyUsage via
 * checkIssued), signature, validity window at an injected time, and the CA
 * flag of every issuer. Path-length constraints and name constraints are
 * not evaluated (EK hierarchies are two or three certificates deep).
 */

export type CertificateInput = Uint8Array | string;

export interface EkTrustAnchors {
  /** Trusted root (or pinned intermediate) CA certificates, DER or PEM. */
  roots: readonly CertificateInput[];
  /** Untrusted intermediates that may be used to build the path, DER or PEM. */
  intermediates?: readonly CertificateInput[];
}

export interface VerifiedEkCertificate {
  certificate: X509Certificate;
  /** Leaf first, ending with the trusted anchor. */
  chain: X509Certificate[];
}

const MAX_DEPTH = 6;

function load(input: CertificateInput, field: string): X509Certificate {
  try {
    return new X509Certificate(typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength));
  } catch (e) {
    throw new TpmVerifyError('malformed', field, 'not an X.509 certificate', { cause: e });
  }
}

/**
 * The length of the DER element at the start of `bytes`, for trimming the
 * padding some TPMs leave after the certificate in its NV index.
 */
export function derLength(bytes: Uint8Array): number {
  if (bytes.length < 2 || bytes[0] !== 0x30) throw malformed('EK certificate', 'not a DER SEQUENCE');
  const first = bytes[1] as number;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n < 1 || n > 3 || bytes.length < 2 + n) throw malformed('EK certificate', 'unsupported DER length');
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + (bytes[2 + i] as number);
  if (2 + n + len > bytes.length) throw malformed('EK certificate', `DER length ${2 + n + len} exceeds the ${bytes.length} bytes read`);
  return 2 + n + len;
}

export function trimDer(bytes: Uint8Array): Uint8Array {
  return Uint8Array.from(bytes.subarray(0, derLength(bytes)));
}

function within(cert: X509Certificate, nowMs: number): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return Number.isFinite(from) && Number.isFinite(to) && from <= nowMs && nowMs <= to;
}

function issued(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.issuer === issuer.subject && child.checkIssued(issuer) && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

const untrusted = (detail: string): TpmVerifyError => new TpmVerifyError('ekUntrusted', 'EK certificate', detail);

/**
 * Build and check the path from the EK certificate to one of `anchors.roots`
 * at time `nowMs`. Throws TpmVerifyError('ekUntrusted') naming why no path
 * exists.
 */
export function verifyEkCertificate(ekCertificate: CertificateInput, anchors: EkTrustAnchors, nowMs: number): VerifiedEkCertificate {
  const leaf = load(ekCertificate, 'EK certificate');
  if (!within(leaf, nowMs)) throw untrusted(`outside its validity window ${leaf.validFrom} – ${leaf.validTo}`);
  const roots = anchors.roots.map((c, i) => load(c, `roots[${i}]`));
  const intermediates = (anchors.intermediates ?? []).map((c, i) => load(c, `intermediates[${i}]`));
  if (roots.length === 0) throw untrusted('no trusted CA configured');

  const reasons: string[] = [];
  const search = (cert: X509Certificate, chain: X509Certificate[]): X509Certificate[] | undefined => {
    for (const root of roots) {
      if (!issued(cert, root)) continue;
      if (!root.ca) reasons.push(`anchor ${root.subject} is not a CA`);
      else if (!within(root, nowMs)) reasons.push(`anchor ${root.subject} is outside its validity window`);
      else return [...chain, root];
    }
    if (chain.length >= MAX_DEPTH) return undefined;
    for (const mid of intermediates) {
      if (chain.includes(mid) || !issued(cert, mid)) continue;
      if (!mid.ca) reasons.push(`intermediate ${mid.subject} is not a CA`);
      else if (!within(mid, nowMs)) reasons.push(`intermediate ${mid.subject} is outside its validity window`);
      else {
        const found = search(mid, [...chain, mid]);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };
  const chain = search(leaf, [leaf]);
  if (chain === undefined) {
    const why = reasons.length > 0 ? reasons.join('; ') : `no trusted issuer for "${leaf.issuer}"`;
    throw untrusted(`does not chain to a trusted CA: ${why}`);
  }
  return { certificate: leaf, chain };
}

/** Refuse unless the certificate certifies exactly this EK public key. */
export function checkEkMatchesCertificate(ek: TpmPublic, certificate: X509Certificate): void {
  const fromCert = certificate.publicKey.export({ type: 'spki', format: 'der' });
  const fromTpm = spkiOf(ek);
  if (fromCert.length !== fromTpm.length || !timingSafeEqual(fromCert, fromTpm)) {
    throw new TpmVerifyError('ekMismatch', 'EK certificate', 'certifies a different key than the EK public area');
  }
}

/** The EK hash named by pre-approvals and allow-lists: SHA-256 of the EK's SubjectPublicKeyInfo DER. */
export function ekHash(ek: TpmPublic): CasDigest {
  return digestRaw(spkiOf(ek));
}

/** Refuse unless the EK's hash is on the allow-list. */
export function checkEkAllowList(ek: TpmPublic, allowList: Iterable<string>): CasDigest {
  const h = ekHash(ek);
  for (const allowed of allowList) if (allowed === h) return h;
  throw new TpmVerifyError('ekUntrusted', 'EK', `EK hash ${h} is not on the allow-list`);
}
