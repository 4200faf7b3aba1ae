import { helloFacts, type HelloFacts } from '../bus-schemas/bootstrap/cell-side.js';
import type { BootstrapHelloV1 } from '../bus-schemas/v1/bootstrap-hello.js';
import type { MachineRecord } from './machine-registry.js';

/** The TPM facts of a hello, re-derived from the hello stored with the session (it was checked when it came). */
export function factsFromHello(hello: BootstrapHelloV1, rec: MachineRecord | undefined): HelloFacts {
  const facts = helloFacts(hello);
  return rec?.ekTrustedBy && !facts.softwareOnly ? { ...facts, ekTrustedBy: rec.ekTrustedBy } : facts;
}
