/** What the bootstrap service and its parts (handshake, enrollment, machine steps) are given by main.ts. */
import type { Logger } from 'pino';
import type { Clock } from '../bus-schemas/clock.js';
import type { CellMaterial } from './cell-material.js';
import type { OrchestratorConfig } from './config.js';
import type { CredentialMinter } from './enrollment.js';
import type { MachineStore } from './machine-store.js';
import type { StepLedger } from './step-writer.js';

export interface BootstrapServiceDeps {
  store: MachineStore;
  /** seal an entry now (persisted in the outbox with its step), publish it later */
  ledger: StepLedger;
  minter: CredentialMinter;
  cell: CellMaterial;
  config: OrchestratorConfig;
  clock: Clock;
  logger: Logger;
  /** how lately each enrolled machine was heard from (metering/liveness.ts), for `holonctl machines` */
  liveness?: { of(machineId: string, now: number): { reachable: boolean; last_seen: number | null } };
}
