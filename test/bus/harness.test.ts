import t from 'tap';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { findNatsServer, NatsHarnessError, startNatsServer } from '../harness/nats-server.js';

void t.test('a missing nats-server fails loudly, naming the package', async (t) => {
  t.throws(() => findNatsServer({ PATH: '/nonexistent' }, ['/also-nonexistent']), {
    name: 'NatsHarnessError',
    message: /nats-server binary not found .*install it with `apt-get install nats-server`/,
  });
  t.throws(() => findNatsServer({ NATS_SERVER_BIN: '/nonexistent/nats-server' }), /NATS_SERVER_BIN=\/nonexistent\/nats-server is not an executable file/);
  const saved = process.env.NATS_SERVER_BIN;
  process.env.NATS_SERVER_BIN = '/nonexistent/nats-server';
  try {
    await t.rejects(startNatsServer(), NatsHarnessError, 'starting a server rejects, never skips');
  } finally {
    if (saved === undefined) delete process.env.NATS_SERVER_BIN;
    else process.env.NATS_SERVER_BIN = saved;
  }
  t.match(findNatsServer(), /nats-server$/, 'found on this machine');
});

void t.test('kill -9 and restart keep the store and the port', async (t) => {
  const server = await startNatsServer();
  t.teardown(() => server.stop());
  const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'S', subjects: ['s.>'], storage: 'file' });
  const js = jetstream(nc);
  for (let i = 0; i < 10; i++) await js.publish('s.x', `m${i}`);
  const port = server.port;
  await server.kill9();
  t.notOk(server.running);
  await server.restart();
  t.equal(server.port, port, 'same port');
  let info;
  for (let i = 0; ; i++) {
    try {
      info = await jsm.streams.info('S');
      break;
    } catch (e) {
      if (i > 50) throw e; // the client reconnects on its own; give it a few seconds
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  t.equal(info.state.messages, 10, 'every message survived the crash');
  t.match(server.logTail(), /Server is ready/);
});
