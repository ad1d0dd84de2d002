#!/usr/bin/env python3
# Server RSS per connection with and without permessage-deflate (docs/BENCHMARKS.md).
# Opens N WebSocket connections to /api/v1/ws/workflows offering OFFER ("none" for
# no Sec-WebSocket-Extensions), reads and discards what comes, publishes 20 messages
# of about 2 KiB of JSON-like text (publish token "tok"), and prints the server's RSS
# growth per connection from /proc/PID/status. Loopback only; ends by itself.
#   deflate_rss.py PORT PID N OFFER
# e.g. OFFER "permessage-deflate; client_max_window_bits" (what browsers send: the
# server keeps its compression context per connection) or
# "permessage-deflate; server_no_context_takeover; client_no_context_takeover".
import socket, sys, time, os, selectors, json, urllib.request
port, pid, n, offer = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def rss():
    for l in open('/proc/%d/status' % pid):
        if l.startswith('VmRSS'): return int(l.split()[1])
sel = selectors.DefaultSelector(); socks = []
base = rss()
for i in range(n):
    s = socket.create_connection(('127.0.0.1', port))
    ext = 'Sec-WebSocket-Extensions: %s\r\n' % offer if offer != 'none' else ''
    s.sendall(('GET /api/v1/ws/workflows HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
               'Sec-WebSocket-Key: dGFjd3MtYmVuY2gta2V5MQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n' % ext).encode())
    s.setblocking(False); sel.register(s, selectors.EVENT_READ); socks.append(s)
def drain(t):
    end = time.time() + t
    while time.time() < end:
        for k, _ in sel.select(0.05):
            try: k.fileobj.recv(65536)
            except BlockingIOError: pass
drain(1.0); connected = rss()
pad = ''.join('adw-%06x running phase %d; ' % ((i * 2654435761) & 0xffffff, i % 9) for i in range(70))
for m in range(20):
    body = json.dumps({'feed': 'workflows', 'type': 'bench_event', 'data': {'i': m, 'pad': pad}}).encode()
    req = urllib.request.Request('http://127.0.0.1:%d/api/v1/publish' % port, body, {'Authorization': 'Bearer tok'})
    urllib.request.urlopen(req).read(); drain(0.1)
drain(1.0); after = rss()
print('%s: %d conns, RSS base %d KB, connected +%.1f KB/conn, after 20 messages +%.1f KB/conn' % (offer, n, base, (connected-base)/n, (after-base)/n))
