import { enumeration, type Infer } from '../schema.js';

export const TEARDOWN_REASONS = [
  'REQUESTED',
  'BUDGET_EXHAUSTED',
  'EXPIRED',
  'REVOKED',
  'PARENT_TEARDOWN',
  'POLICY_VIOLATION',
  'MACHINE_LOST',
] as const;
export const TeardownReasonSchema = enumeration(TEARDOWN_REASONS, 'TeardownReason');
export type TeardownReason = Infer<typeof TeardownReasonSchema>;
