/**
 * The unit's network as a user sees it: an `egress` unit reaches the host
 * side of its veth, and every byte it sends is counted on the host side
 * (usage().egressBytes = the host link's rx_bytes); a PENTEST_SANDBOX unit
 * (`none`) has only loopback and reaches nothing: not another unit's host
 * side, not the host's 127.0.0.1.
 */
import t from 'tap';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { NOT_ROOT, fixture, ipv4Of, readText, run, spec, uniqueName } from './linux-fixture.js';

interface Sink {
  server: Server;
  port: number;
  received: () => number;
  connections: () => number;
  closed: Promise<void>;
}

/** A TCP listener that counts bytes; `closed` resolves after the first connection ends. */
async function sink(host: string): Promise<Sink> {
  let bytes = 0;
  let conns = 0;
  let endFirst!: () => void;
  const closed = new Promise<void>((r) => (endFirst = r));
  const server = createServer((s: Socket) => {
    conns++;
    s.on('data', (d: Buffer) => (bytes += d.length));
    s.on('close', () => endFirst());
  });
  server.listen(0, host);
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, received: () => bytes, connections: () => conns, closed };
}

void t.test('egress: the bytes a unit sends are counted on the host side of its link', { skip: NOT_ROOT }, async (t) => {
  const f = fixture(t);
  const name = uniqueName('egr');
  const info = await f.create(spec(name, 'egress'));
  t.match(info.hostLink, /^hv[0-9a-f]{12}$/, 'host link named hv + 12 hex digits');
  t.ok((info.hostLink ?? '').length <= 15, 'fits IFNAMSIZ');
  const hostIp = ipv4Of(info.hostLink as string);
  t.match(hostIp, /^10\.222\.\d+\.\d+$/, `host side ${hostIp} is in the egress pool`);
  const route = await run(f.adapter, name, ['/usr/sbin/ip', '-4', 'route']);
  t.match(route.stdout, new RegExp(`default via ${hostIp.replace(/\./g, '\\.')} dev eth0`), 'default route via the host side');

  const s = await sink(hostIp);
  t.teardown(() => s.server.close());
  const N = 1_000_000;
  const before = await f.adapter.usage(name);
  const sent = await run(f.adapter, name, ['/bin/bash', '-c', `head -c ${N} /dev/zero > /dev/tcp/${hostIp}/${s.port}`], { timeoutMs: 20_000 });
  t.equal(sent.exitCode, 0, `the unit sent ${N} bytes (${sent.stderr.trim()})`);
  await s.closed;
  t.equal(s.received(), N, 'the host-side listener received every byte');
  const after = await f.adapter.usage(name);
  const counted = after.egressBytes - before.egressBytes;
  t.ok(counted >= N, `egressBytes grew by ${counted} ≥ ${N} payload bytes`);
  t.ok(counted < N * 1.1 + 65536, `and by no more than payload + TCP/IP overhead (${counted})`);
  t.ok(after.ingressBytes > before.ingressBytes, 'the ACKs the host sent back are counted as ingress');
  const rx = Number((await readText(`/sys/class/net/${info.hostLink}/statistics/rx_bytes`)).trim());
  t.ok(rx >= after.egressBytes, 'usage() reads the host link rx_bytes counter');
});

void t.test('PENTEST_SANDBOX: loopback only; no other unit, no host address is reachable', { skip: NOT_ROOT }, async (t) => {
  const f = fixture(t);
  const open = uniqueName('open');
  const sandbox = uniqueName('sbx');
  const openInfo = await f.create(spec(open, 'egress'));
  const sbxInfo = await f.create(spec(sandbox, 'none'));
  t.equal(sbxInfo.hostLink, undefined, 'the sandbox has no host link');

  const ifaces = await run(f.adapter, sandbox, ['/bin/cat', '/proc/net/dev']);
  const names = ifaces.stdout
    .split('\n')
    .slice(2)
    .map((l) => l.split(':')[0]?.trim())
    .filter((n) => n !== undefined && n !== '');
  t.same(names, ['lo'], 'the only interface inside is lo');
  const lo = await run(f.adapter, sandbox, ['/usr/sbin/ip', '-4', 'addr', 'show', 'dev', 'lo']);
  t.match(lo.stdout, /inet 127\.0\.0\.1\/8/, 'loopback is up inside');

  // a listener on another unit's host side, and one on the host's own loopback
  const hostIp = ipv4Of(openInfo.hostLink as string);
  const other = await sink(hostIp);
  const local = await sink('127.0.0.1');
  t.teardown(() => {
    other.server.close();
    local.server.close();
  });
  const tryConnect = (ip: string, port: number): Promise<Awaited<ReturnType<typeof run>>> =>
    run(f.adapter, sandbox, ['/usr/bin/timeout', '5', '/bin/bash', '-c', `exec 3<>/dev/tcp/${ip}/${port} && echo CONNECTED`], { timeoutMs: 15_000 });
  const toOther = await tryConnect(hostIp, other.port);
  t.notMatch(toOther.stdout, /CONNECTED/, 'cannot connect to another unit’s host side');
  t.not(toOther.exitCode, 0);
  t.match(toOther.stderr, /Network is unreachable/, `refused by the kernel: ${toOther.stderr.trim()}`);
  const toLocal = await tryConnect('127.0.0.1', local.port);
  t.notMatch(toLocal.stdout, /CONNECTED/, 'cannot reach the host’s 127.0.0.1');
  t.match(toLocal.stderr, /Connection refused/, `the unit's own loopback answers instead: ${toLocal.stderr.trim()}`);
  t.equal(other.connections() + local.connections(), 0, 'no connection arrived at either host listener');
  t.equal((await f.adapter.usage(sandbox)).egressBytes, 0, 'nothing counted as egress');

  // the egress unit, by contrast, reaches its host side (the test would pass for the wrong reason otherwise)
  const ok = await run(f.adapter, open, ['/bin/bash', '-c', `exec 3<>/dev/tcp/${hostIp}/${other.port} && echo CONNECTED`], { timeoutMs: 15_000 });
  t.match(ok.stdout, /CONNECTED/, 'the egress unit can connect to the same listener');
});
