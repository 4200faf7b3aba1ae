/**
 * The observability keys both daemons' configs share (docs/metrics.md,
 * docs/agent.md, docs/orchestrator.md): where the /metrics, /healthz and
 * /readyz endpoints listen, how many units get their own series, and the
 * log format. Pure: the schemas and their resolution, no sockets.
 */
import { MalformedError } from './errors.js';
import { enumeration, integer, nullable, object, optional, string, type Schema } from './schema.js';

/** `json`: pino JSON lines; `pretty`: pino-pretty for humans; `journal`: JSON lines with a `<N>` syslog priority prefix. */
export const LOG_FORMATS = ['json', 'pretty', 'journal'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LogFormatSchema = enumeration(LOG_FORMATS);

/** Where the metrics endpoints listen; port 0 = any free port (the bound address is logged). */
export interface ListenAddress {
  host: string;
  port: number;
}

export interface MetricsSettings {
  /** null: no endpoints at all */
  listen: ListenAddress | null;
  /** at most this many units have their own per-unit series (docs/metrics.md) */
  maxUnits: number;
}

export const DEFAULT_MAX_UNITS = 1000;
export const MAX_UNITS_LIMIT = 100_000;
/** The loopback defaults: the orchestrator's is 9464, the agent's 9465 (both run on one host under `holonctl up`). */
export const DEFAULT_METRICS_LISTEN = { orchestrator: '127.0.0.1:9464', agent: '127.0.0.1:9465' } as const;

const HOST = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]{2,45}\]|[a-zA-Z0-9](?:[a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?)$/;

/** `host:port` (`[v6]:port` for IPv6) → its parts; `off` is handled by the caller. Throws MalformedError at `path`. */
export function parseListenAddress(text: string, path: string): ListenAddress {
  const i = text.lastIndexOf(':');
  const host = i < 0 ? '' : text.slice(0, i);
  const portText = i < 0 ? '' : text.slice(i + 1);
  if (!HOST.test(host) || !/^\d{1,5}$/.test(portText) || Number(portText) > 65_535) {
    throw new MalformedError(path, `expected host:port like 127.0.0.1:9464 ([::1]:9464 for IPv6, port 0 for any free port), "off" or null, got ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (/^[\d.]+$/.test(host) && host.split('.').some((o) => Number(o) > 255)) throw new MalformedError(path, `${host} is not an IPv4 address`);
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(portText) };
}

const ListenSchema: Schema<ListenAddress | null> = {
  parseAt(input, path) {
    const text = nullable(string({ min: 1, max: 300 })).parseAt(input, path);
    return text === null || text === 'off' ? null : parseListenAddress(text, path);
  },
  jsonSchema: () => ({ anyOf: [{ type: 'string', maxLength: 300, description: 'host:port, [v6]:port or "off"' }, { type: 'null' }] }),
};

/** `metrics: { listen, max_units }`; both optional. */
export const MetricsConfigSchema = object({
  listen: optional(ListenSchema),
  max_units: optional(integer({ min: 1, max: MAX_UNITS_LIMIT })),
});

/** The resolved settings of an optional `metrics` object, with the daemon's default address. */
export function resolveMetrics(raw: { listen?: ListenAddress | null; max_units?: number } | undefined, defaultListen: string): MetricsSettings {
  return {
    listen: raw?.listen === undefined ? parseListenAddress(defaultListen, '$.metrics.listen') : raw.listen,
    maxUnits: raw?.max_units ?? DEFAULT_MAX_UNITS,
  };
}
