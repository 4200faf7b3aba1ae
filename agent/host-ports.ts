/**
 * What the agent needs from the host, declared beside its users; main.ts
 * wires adapters/probes (ProbeManager) and adapters/tpm (TpmAttestor), which
 * fit these shapes as they are.
 */
import type { NetworkAddressV1 } from '../bus-schemas/v1/network-address.js';
import type { PlatformReportV1 } from '../bus-schemas/v1/platform-report.js';
import type { ResourceCapacityV1 } from '../bus-schemas/v1/resource-capacity.js';

export interface HostProbePort {
  run(): Promise<{ report: PlatformReportV1; capacity: ResourceCapacityV1; addresses: NetworkAddressV1[] }>;
}

export interface TpmIdentityFacts {
  ekPublic: Uint8Array;
  ekCertificate: Uint8Array | undefined;
  akPublic: Uint8Array;
}

export interface TpmQuoteFacts {
  attest: Uint8Array;
  signature: Uint8Array;
  pcrSelection: { bank: string; pcrs: readonly number[] };
  pcrValues: Uint8Array[];
}

export interface TpmPort {
  /** EK and AK, creating the AK on first use. */
  provision(): Promise<TpmIdentityFacts>;
  /** TPM2_ActivateCredential of the cell's credential blob. */
  activateCredential(idObject: Uint8Array, encryptedSecret: Uint8Array): Promise<Uint8Array>;
  /** TPM2_Quote over `selection` with `qualifyingData` as extraData. */
  quote(selection: { bank: string; pcrs: number[] }, qualifyingData: Uint8Array): Promise<TpmQuoteFacts>;
}
