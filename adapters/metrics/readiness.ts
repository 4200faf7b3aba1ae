/**
 * metrics(readiness): the checks behind /readyz and `holonet_ready`. A NATS
 * connection counts as connected when a PING/PONG round trip (`flush`)
 * completes in time: a connection that is reconnecting holds the PING until
 * it is back, so it is reported as not connected rather than trusted.
 */

/** Why `what` is not reachable, or undefined when `flush` completed within `ms`. */
export async function roundTrip(what: string, flush: () => Promise<void>, ms = 1000): Promise<string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`${what}: no answer from the server within ${ms} ms`), ms);
  });
  try {
    return await Promise.race([flush().then(() => undefined), late]);
  } catch (e) {
    return `${what}: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    clearTimeout(timer);
  }
}

/** Every reason any of `checks` gives (they run concurrently). */
export async function reasonsOf(checks: readonly (() => Promise<string | undefined> | string | undefined)[]): Promise<string[]> {
  const r = await Promise.all(checks.map((c) => Promise.resolve(c())));
  return r.filter((x): x is string => x !== undefined);
}
