import { enumeration, type Infer } from '../schema.js';

/**
 * What happens when a budget runs out. Never a crash:
 * TEARDOWN (signal, grace, kill, normal teardown), FREEZE (await top-up),
 * NOTIFY (the parent decides).
 */
export const EXHAUSTION_POLICIES = ['TEARDOWN', 'FREEZE', 'NOTIFY'] as const;
export const ExhaustionPolicySchema = enumeration(EXHAUSTION_POLICIES, 'ExhaustionPolicy');
export type ExhaustionPolicy = Infer<typeof ExhaustionPolicySchema>;
