import { enumeration, integer, object, type Infer } from '../schema.js';

/** Latest instant we accept anywhere: 9999-12-31T23:59:59.999Z. */
export const MAX_UNIX_MS = 253_402_300_799_999;

export const UnixMsSchema = integer({ min: 0, max: MAX_UNIX_MS, description: 'milliseconds since the Unix epoch' });

export const CLOCK_SOURCES = ['SYSTEM', 'NTP', 'TPM', 'LOGICAL'] as const;

/** TimeEnvelopeRef: a timestamp with the clock it was read from. */
export const TimeEnvelopeRefSchema = object(
  {
    unix_ms: UnixMsSchema,
    source: enumeration(CLOCK_SOURCES),
  },
  'TimeEnvelopeRef: a timestamp and its clock source',
);
export type TimeEnvelopeRef = Infer<typeof TimeEnvelopeRefSchema>;

export function timeAt(unixMs: number, source: TimeEnvelopeRef['source'] = 'SYSTEM'): TimeEnvelopeRef {
  return { unix_ms: unixMs, source };
}
