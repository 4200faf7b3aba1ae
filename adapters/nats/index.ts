/** Public names of the NATS adapter. Only composition roots (the main.ts files) import it. */
export { connectBus, defaultBusLogger, type BusConnectOptions, type BusConnection } from './connect.js';
export { declareStream, declareStreams, openKv, planStreamUpdate, type DeclareAction, type DeclareResult } from './declare.js';
export {
  BadReplyError,
  BusConfigError,
  BusConnectError,
  BusError,
  BusRequestError,
  LedgerAppendError,
  ServiceBusyError,
  StreamConflictError,
} from './errors.js';
export {
  LedgerHeadError,
  LedgerWriter,
  type AppendResult,
  type CachedHead,
  type LedgerWriterOptions,
  type PreparedAppend,
} from './ledger-writer.js';
export { auditLedger, openLedgerReplay, type AuditOptions, type LedgerReplay, type ReplayOptions, type ReplayStart } from './ledger-replay.js';
export {
  requestSigned,
  serve,
  type RequestContext,
  type RequestOptions,
  type ServeOptions,
  type Service,
  type ServiceStats,
} from './request-reply.js';
