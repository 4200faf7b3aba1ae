/** Public names of the Linux isolation adapter. Only composition roots (the main.ts files) import it. */
export { createLinuxIsolation, LinuxIsolation, type IsolationLogger, type LinuxIsolationOptions } from './linux-isolation.js';
export { ISOLATION_ERROR_CODE, IsolationError, type IsolationErrorKind } from './isolation-error.js';
export { hostLinkName, netnsName, netnsPath } from './network.js';
