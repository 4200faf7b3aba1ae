/** adapters/metrics: the MetricsPort over prom-client and the /metrics, /healthz, /readyz endpoints (docs/metrics.md). */
export { createPromMetrics, monotonicSeconds, LABEL_VALUES_MAX, type PromMetrics, type PromMetricsOptions } from './prom-metrics.js';
export { serveMetrics, startMetricsServer, MetricsListenError, type MetricsEndpoints, type Readiness } from './metrics-server.js';
export { reasonsOf, roundTrip } from './readiness.js';
