"""tools/python/tacws_publish.py against a real tacwsd (TACWSD_PATH, with the core
tests' testfeed plugin in TACWS_TEST_PLUGIN_DIR), a server that never answers, and
a port where nothing listens. Standard library only."""

import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.environ["TACWS_PYTHON_DIR"])
import tacws_publish  # noqa: E402

TOKEN = "py-pub-s3cret"


class WebSocket:
    """Just enough of a WebSocket client: the upgrade, then text frames read."""

    def __init__(self, port, path, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (path, port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("closed during the upgrade")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head.decode(errors="replace"))

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    def message(self):
        """The next text message as JSON (server frames are unmasked; no fragments here)."""
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(n)
            if b0 & 0x0F == 1:
                return json.loads(payload)
            if b0 & 0x0F == 8:
                raise ConnectionError("closed by the server")

    def expect(self, message_type):
        while True:
            m = self.message()
            if m.get("type") == message_type:
                return m

    def close(self):
        self.sock.close()


class Tacwsd:
    """A real tacwsd on a port it picks itself (port 0) and logs."""

    def __init__(self, publish_token):
        self.dir = tempfile.mkdtemp(prefix="tacws-py-")
        with open(os.path.join(self.dir, "alpha.json"), "w") as f:
            f.write('{"n": 0}')
        self.ini = os.path.join(self.dir, "tacws.ini")
        with open(self.ini, "w") as f:
            f.write("[server]\nlisten = 127.0.0.1\nport = 0\nplugin_dir = %s\n"
                    "[auth]\npublish_token = %s\n"
                    "[feed.alpha]\nplugin = testfeed\nfile = %s/alpha.json\ninterval_ms = 60000\n"
                    % (os.environ["TACWS_TEST_PLUGIN_DIR"], publish_token, self.dir))
        self.log_path = os.path.join(self.dir, "tacwsd.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([os.environ["TACWSD_PATH"], "--config", self.ini],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.port = self._wait_ready(10.0)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("tacwsd exited:\n" + self.log_text())
            m = re.search(r"tacws listening on http://[^:]+:(\d+)/", self.log_text())
            if m:
                port = int(m.group(1))
                try:
                    with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=1):
                        return port
                except OSError:
                    pass
            time.sleep(0.02)
        raise RuntimeError("tacwsd not ready:\n" + self.log_text())

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        if not os.environ.get("TACWS_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode


class AgainstTacwsd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Tacwsd(TOKEN)

    @classmethod
    def tearDownClass(cls):
        status = cls.server.stop()
        if status != 0:
            raise AssertionError("tacwsd exited with %d" % status)

    def setUp(self):
        self.ws = WebSocket(self.server.port, "/api/v1/ws/alpha")
        self.assertEqual(self.ws.expect("test_update")["data"], {"n": 0})  # the snapshot

    def tearDown(self):
        self.ws.close()

    def publisher(self, **kw):
        kw.setdefault("token", TOKEN)
        return tacws_publish.Publisher(url=self.server.url(), **kw)

    def test_publish_reaches_the_subscriber(self):
        n = self.publisher().publish("alpha", "queue_update", {"phases": [], "total": 0})
        self.assertEqual(n, 1)
        m = self.ws.expect("queue_update")
        self.assertEqual(m["data"], {"phases": [], "total": 0})
        self.assertIn("seq", m)

    def test_datetimes_are_sent_as_text(self):
        import datetime
        when = datetime.datetime(2026, 11, 26, 10, 31)
        self.assertEqual(self.publisher().publish("alpha", "evt", {"at": when}), 1)
        self.assertEqual(self.ws.expect("evt")["data"], {"at": "2026-11-26 10:31:00"})

    def test_broadcast_takes_the_feed_from_the_type(self):
        p = self.publisher()
        self.assertEqual(p.broadcast({"type": "queue_update", "data": 1}, feed="alpha"), 1)
        self.assertEqual(self.ws.expect("queue_update")["data"], 1)
        # no "data": the feed is polled instead (the snapshot comes again only if it changed)
        with open(os.path.join(self.server.dir, "alpha.json"), "w") as f:
            f.write('{"n": 2}')
        self.assertEqual(p.broadcast({"type": "queue_update", "queue_id": "q1"}, feed="alpha"), 1)
        self.assertEqual(self.ws.expect("test_update")["data"], {"n": 2})
        with open(os.path.join(self.server.dir, "alpha.json"), "w") as f:
            f.write('{"n": 0}')
        self.assertEqual(p.refresh("alpha"), 1)
        self.assertEqual(self.ws.expect("test_update")["data"], {"n": 0})
        # no feed for an unknown type: logged, nothing sent
        with self.assertLogs("tacws_publish", "WARNING"):
            self.assertIsNone(p.broadcast({"type": "nothing_known", "data": 1}))

    def test_refresh_polls_the_feed(self):
        with open(os.path.join(self.server.dir, "alpha.json"), "w") as f:
            f.write('{"n": 1}')
        self.assertEqual(self.publisher().refresh("alpha"), 1)  # one topic with subscribers
        self.assertEqual(self.ws.expect("test_update")["data"], {"n": 1})
        with open(os.path.join(self.server.dir, "alpha.json"), "w") as f:
            f.write('{"n": 0}')
        self.assertEqual(self.publisher().refresh("alpha"), 1)
        self.assertEqual(self.ws.expect("test_update")["data"], {"n": 0})

    def test_background_returns_at_once_and_delivers(self):
        p = self.publisher(background=True)
        self.assertIsNone(p.publish("alpha", "bg", {"k": "v"}))
        self.assertTrue(p.flush(5))
        self.assertEqual(self.ws.expect("bg")["data"], {"k": "v"})

    def test_wrong_token_is_logged_not_raised(self):
        p = self.publisher(token="wrong")
        with self.assertLogs("tacws_publish", "WARNING") as logs:
            self.assertIsNone(p.publish("alpha", "x", 1))
        self.assertIn("HTTP 401", logs.output[0])
        with self.assertLogs("tacws_publish", "WARNING"):
            self.assertIsNone(tacws_publish.Publisher(url=self.server.url(), token="").refresh("alpha"))

    def test_unknown_feed_is_logged(self):
        with self.assertLogs("tacws_publish", "WARNING") as logs:
            self.assertIsNone(self.publisher().publish("no-such-feed", "x", 1))
        self.assertIn("HTTP 404", logs.output[0])
        with self.assertLogs("tacws_publish", "WARNING"):
            self.assertIsNone(self.publisher().refresh("../etc"))

    def test_data_that_is_not_json_is_logged(self):
        with self.assertLogs("tacws_publish", "WARNING"):
            self.assertIsNone(self.publisher().publish("alpha", "x", {"n": float("nan")}))
        loop = []
        loop.append(loop)
        with self.assertLogs("tacws_publish", "WARNING"):
            self.assertIsNone(self.publisher().publish("alpha", "x", loop))

    def test_repeated_failures_are_logged_once_a_minute(self):
        p = self.publisher(token="wrong")
        with self.assertLogs("tacws_publish", "INFO") as logs:
            for _ in range(5):
                p.publish("alpha", "x", 1)
            p.token = TOKEN
            self.assertEqual(p.publish("alpha", "x", 1), 1)
        self.assertEqual(len(logs.output), 2, logs.output)  # one failure, one recovery
        self.assertIn("answers again", logs.output[1])


class SilentServer:
    """Accepts connections and reads, never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.done = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.sock.settimeout(0.1)
        while not self.done.is_set():
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                pass

    def close(self):
        self.done.set()
        for c in self.conns:
            c.close()
        self.sock.close()


class WithoutTacwsd(unittest.TestCase):
    def test_a_server_that_never_answers_times_out(self):
        silent = SilentServer()
        try:
            p = tacws_publish.Publisher(url="http://127.0.0.1:%d" % silent.port, token=TOKEN,
                                        timeout=0.3)
            start = time.monotonic()
            with self.assertLogs("tacws_publish", "WARNING") as logs:
                self.assertIsNone(p.publish("queue", "queue_update", {}))
            took = time.monotonic() - start
            self.assertGreaterEqual(took, 0.25)
            self.assertLess(took, 1.5)
            self.assertIn("timed out", logs.output[0])
        finally:
            silent.close()

    def test_background_does_not_block_the_caller(self):
        silent = SilentServer()
        try:
            p = tacws_publish.Publisher(url="http://127.0.0.1:%d" % silent.port, token=TOKEN,
                                        timeout=0.5, background=True)
            start = time.monotonic()
            with self.assertLogs("tacws_publish", "WARNING"):
                for _ in range(3):
                    self.assertIsNone(p.refresh("queue"))
                self.assertLess(time.monotonic() - start, 0.2)
                self.assertTrue(p.flush(5))
        finally:
            silent.close()

    def test_connection_refused_does_not_raise(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now
        p = tacws_publish.Publisher(url="http://127.0.0.1:%d" % port, token=TOKEN)
        with self.assertLogs("tacws_publish", "WARNING") as logs:
            self.assertIsNone(p.publish("queue", "queue_update", {}))
            self.assertIsNone(p.refresh("queue"))  # the second is counted, not logged
            self.assertIsNone(p.broadcast({"type": "queue_update", "data": {}}))
            p._last_logged = 0.0  # a minute later
            self.assertIsNone(p.refresh("queue"))
        self.assertEqual(len(logs.output), 2)
        self.assertIn("Connection refused", logs.output[0])
        self.assertIn("2 more failures", logs.output[1])

    def test_configured_from_the_environment(self):
        env = {"TACWS_URL": "https://tacws.example:9443/base", "TACWS_PUBLISH_TOKEN": "t0k",
               "TACWS_PUBLISH_TIMEOUT_S": "0.25", "TACWS_PUBLISH_BACKGROUND": "1"}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            p = tacws_publish.Publisher()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k)
                else:
                    os.environ[k] = v
        self.assertEqual((p._host, p._port, p._https, p._base), ("tacws.example", 9443, True,
                                                                 "/base/api/v1"))
        self.assertEqual((p.token, p.timeout, p.background), ("t0k", 0.25, True))
        self.assertEqual(tacws_publish.feed_for_type("planned_features_update"),
                         "planned-features")


if __name__ == "__main__":
    unittest.main(verbosity=2)
