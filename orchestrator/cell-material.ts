/**
 * The files a cell runs on (as `holonctl init` writes them): the cell key,
 * its CellCertificateV1, the principal-signed PolicyV1, EK trust anchors and
 * the NATS account seeds. Read and checked once at start; any problem is a
 * ConfigError naming the option, the file and the reason (exit 78).
 */
import { readFileSync } from 'node:fs';
import { decodeKeyFile } from '../bus-schemas/key-file.js';
import { HolonError } from '../bus-schemas/errors.js';
import { convertId, encodeId, type CellIdV1, type PublicKeyIdV1 } from '../bus-schemas/ids.js';
import { signerFromSeed, type Signer } from '../bus-schemas/keys.js';
import { CellCertificateV1 } from '../bus-schemas/v1/cell-certificate.js';
import { PolicyV1 } from '../bus-schemas/v1/policy.js';
import { ConfigError, type OrchestratorConfig } from './config.js';

export interface CellMaterial {
  signer: Signer;
  cellId: CellIdV1;
  /** the cell key as a key id (the seal key of everything the cell signs) */
  cellKey: PublicKeyIdV1;
  certificate: CellCertificateV1;
  policy: PolicyV1;
  principalKey: PublicKeyIdV1;
  /** true when principal_key came from the config (pinned), false when taken from the certificate */
  principalPinned: boolean;
  ekRoots: string[];
  ekIntermediates: string[];
  /** nkey seeds (secret; never logged) */
  accountSeed: string;
  accountSigningSeed: string;
}

function readText(cfg: OrchestratorConfig, option: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(cfg.file, option, `${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e });
  }
}

function why(e: unknown): string {
  return e instanceof HolonError ? e.message : (e as Error).message;
}

/** A holonet Ed25519 key file (bus-schemas/key-file.ts, the one codec) as a signer. */
export function parseKeyFile(text: string): Signer {
  const k = decodeKeyFile(text);
  if (!k.ok) throw new Error(k.reason);
  return signerFromSeed(k.seed);
}

export function loadCellMaterial(cfg: OrchestratorConfig, now: number): CellMaterial {
  let signer: Signer;
  try {
    signer = parseKeyFile(readText(cfg, '$.cell_key', cfg.cellKey));
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(cfg.file, '$.cell_key', `${cfg.cellKey}: ${why(e)}`, { cause: e });
  }
  const cellId = encodeId('cell', signer.publicKey);
  let certificate: CellCertificateV1;
  try {
    certificate = CellCertificateV1.decode(readText(cfg, '$.cell_certificate', cfg.cellCertificate).trim());
    CellCertificateV1.verify(certificate, certificate.principal_key);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(cfg.file, '$.cell_certificate', `${cfg.cellCertificate}: ${why(e)}`, { cause: e });
  }
  const certErr = (reason: string): ConfigError => new ConfigError(cfg.file, '$.cell_certificate', `${cfg.cellCertificate}: ${reason}`);
  if (certificate.cell_id !== cellId) throw certErr(`certifies ${certificate.cell_id}, not the cell key ${cellId}`);
  if (!certificate.allowed_roles.includes('HOST')) throw certErr('does not allow the cell to enroll HOST holons');
  if (now > certificate.not_after) throw certErr(`expired at ${new Date(certificate.not_after).toISOString()}`);
  const principalKey = cfg.principalKey ?? certificate.principal_key;
  if (certificate.principal_key !== principalKey) {
    throw new ConfigError(cfg.file, '$.principal_key', `the cell certificate is signed by ${certificate.principal_key}, not by the pinned ${principalKey}`);
  }
  let policy: PolicyV1;
  try {
    policy = PolicyV1.decode(readText(cfg, '$.policy', cfg.policy).trim());
    PolicyV1.verify(policy, principalKey);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(cfg.file, '$.policy', `${cfg.policy}: ${why(e)}`, { cause: e });
  }
  const pems = (option: string, paths: string[]): string[] =>
    paths.map((p, i) => {
      const text = readText(cfg, `${option}[${i}]`, p);
      if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(cfg.file, `${option}[${i}]`, `${p}: not a PEM certificate`);
      return text;
    });
  const seed = (option: string, path: string): string => {
    const text = readText(cfg, option, path).trim();
    if (!/^SA[A-Z2-7]{56}$/.test(text)) throw new ConfigError(cfg.file, option, `${path}: not an account nkey seed (SA…)`);
    return text;
  };
  return {
    signer,
    cellId,
    cellKey: convertId(cellId, 'key'),
    certificate,
    policy,
    principalKey,
    principalPinned: cfg.principalKey !== undefined,
    ekRoots: pems('$.ek_trust_anchors', cfg.ekTrustAnchors),
    ekIntermediates: pems('$.ek_intermediates', cfg.ekIntermediates),
    accountSeed: seed('$.nats.account_seed', cfg.nats.accountSeed),
    accountSigningSeed: seed('$.nats.account_signing_seed', cfg.nats.accountSigningSeed),
  };
}
