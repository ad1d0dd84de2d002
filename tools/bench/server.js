// The Node.js + ws peer tacws is compared against (docs/BENCHMARKS.md).
// Same endpoints as tacwsd for what the benchmark uses: per-feed client sets
// at <prefix>/ws/<feed>, the feed's snapshot on open, POST <prefix>/publish
// with a bearer token, a JSON envelope stringified once per message, protocol
// pings every 30 s, and a per-connection cap on unsent bytes (closed with 1013).
//
// usage: node server.js [--port 8004] [--listen 127.0.0.1] [--token T]
//                       [--feeds workflows,queue] [--send-queue-bytes 1048576] [--deflate]
'use strict';

const http = require('http');
const { WebSocketServer } = require('ws');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const port = Number(option('port', '8004'));
const listen = option('listen', '127.0.0.1');
const token = option('token', '');
const prefix = option('prefix', '/api/v1');
const cap = Number(option('send-queue-bytes', String(1 << 20)));
const pingMs = Number(option('ping-interval-s', '30')) * 1000;
const feeds = new Map(); // name -> { clients: Set, seq, snapshot: Buffer }

for (const name of option('feeds', 'workflows').split(',')) {
  const type = `${name.replace(/-/g, '_')}_update`;
  feeds.set(name, { clients: new Set(), seq: 0, type, snapshot: null });
}

function envelope(feed, type, data) {
  // Stringified once, and turned into bytes once, for every subscriber.
  return Buffer.from(
    JSON.stringify({ type, data, timestamp: new Date().toISOString(), seq: feed.seq }),
  );
}

for (const feed of feeds.values()) feed.snapshot = envelope(feed, feed.type, []);

let dropped = 0;
let delivered = 0;

function send(ws, buf) {
  if (ws.bufferedAmount + buf.length > cap) {
    dropped++;
    ws.close(1013, 'send queue full');
    // A client that does not read never acknowledges the close: let it go.
    setTimeout(() => ws.terminate(), 1000).unref();
    return;
  }
  ws.send(buf, { binary: false });
  delivered++;
}

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') return reply(res, 200, { status: 'ok' });
  if (req.method === 'GET' && req.url === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end(`node_dropped_clients_total ${dropped}\nnode_messages_sent_total ${delivered}\n`);
  }
  if (req.method !== 'POST' || req.url !== `${prefix}/publish`) {
    return reply(res, 404, { error: 'not found' });
  }
  if (!token || req.headers.authorization !== `Bearer ${token}`) {
    req.resume();
    return reply(res, 401, { error: 'missing or wrong token' });
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return reply(res, 400, { error: 'bad JSON' });
    }
    const feed = typeof body.feed === 'string' && feeds.get(body.feed);
    if (!feed || typeof body.type !== 'string' || !('data' in body)) {
      return reply(res, 404, { error: 'no such feed' });
    }
    // Answer first: a publish never waits for delivery.
    reply(res, 202, { subscribers: feed.clients.size });
    const buf = envelope(feed, body.type, body.data);
    for (const ws of feed.clients) send(ws, buf);
  });
});

// --deflate: permessage-deflate for the clients that ask (as tacwsd's compression = 1).
const deflate = process.argv.includes('--deflate');
const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: deflate ? { threshold: 0 } : false,
  maxPayload: 4096,
});

server.on('upgrade', (req, socket, head) => {
  const path = req.url.split('?')[0];
  const name = path.startsWith(`${prefix}/ws/`) ? path.slice(prefix.length + 4) : '';
  const feed = feeds.get(name);
  if (!feed) {
    socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.isAlive = true;
    ws.on('pong', () => (ws.isAlive = true));
    ws.on('message', (msg) => {
      let m;
      try {
        m = JSON.parse(msg.toString());
      } catch {
        return;
      }
      if (m && m.type === 'ping') ws.send(JSON.stringify({ type: 'pong', timestamp: m.timestamp }));
    });
    ws.on('close', () => feed.clients.delete(ws));
    ws.on('error', () => {});
    feed.clients.add(ws);
    send(ws, feed.snapshot);
  });
});

setInterval(() => {
  for (const feed of feeds.values()) {
    for (const ws of feed.clients) {
      if (!ws.isAlive) {
        ws.terminate();
        continue;
      }
      ws.isAlive = false;
      ws.ping();
    }
  }
}, pingMs).unref();

server.listen(port, listen, () => {
  console.log(`node-ws peer listening on http://${listen}:${server.address().port}/`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const ws of wss.clients) ws.terminate();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
