/** Public names of the FreeBSD isolation adapter (Bastille + rctl). Only composition roots (main.ts files) import it. */
export { createBastilleIsolation } from './bastille-isolation.js';
export { rctlRules } from './limits.js';
export type { BastilleIsolationOptions, BastilleLog, UnitUser } from './options.js';
export { BASTILLE_ERROR_CODE, BastilleError, type BastilleErrorKind } from './bastille-error.js';
export { createCommandRunner, FREEBSD_PATH, type CommandRunner, type CommandRunnerOptions, type RunOptions, type RunResult, type SpawnOptions } from './command-runner.js';
export { BASTILLE_UNIT_NAME, bastilleHazard, jailNameOf } from './names.js';
export { runSelftest, SELFTEST_CHECKS, type SelftestOptions, type SelftestReport } from './selftest.js';
