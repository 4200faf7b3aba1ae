import { enumeration, type Infer } from '../schema.js';

/** HOST is the role of an enrolled machine itself; the others are provisioned units. */
export const HOLON_ROLES = ['BUILD_WORKER', 'PENTEST_SANDBOX', 'SERVICE_HOST', 'RELAY', 'GENERAL_COMPUTE', 'HOST'] as const;
export const HolonRoleSchema = enumeration(HOLON_ROLES, 'HolonRole');
export type HolonRole = Infer<typeof HolonRoleSchema>;
