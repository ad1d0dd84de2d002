"""Publish events to tacws from a Python backend, in one line.

    import tacws_publish
    tacws_publish.publish("queue", "queue_update", data)   # an event to the queue feed's subscribers
    tacws_publish.refresh("queue")                         # or: tacws polls the feed now
    tacws_publish.broadcast({"type": "adw_monitor_update", "data": monitor_data})

tacws answers both at once (202) without waiting for its subscribers, so a call
costs one loopback round trip. A call never raises into the caller: a refused
token, a server that is down or that does not answer within the timeout is
logged (logger "tacws_publish", repeated failures at most once a minute) and
the call returns None. With background=True (or TACWS_PUBLISH_BACKGROUND=1)
calls are queued to one daemon thread and return at once.

Configuration, from the environment unless given to Publisher():
    TACWS_URL                  base URL of tacwsd (default http://127.0.0.1:8003)
    TACWS_API_PREFIX           default /api/v1
    TACWS_PUBLISH_TOKEN        tacws's [auth] publish_token (required by tacws)
    TACWS_PUBLISH_TIMEOUT_S    bound on each network wait: connect, send, each read (default 1.0)
    TACWS_PUBLISH_BACKGROUND   1: fire and forget on a background thread (default 0)

Python 3.8+, standard library only.
"""

import http.client
import json
import logging
import os
import queue
import re
import ssl
import threading
import time
import urllib.parse

__all__ = ["Publisher", "publish", "refresh", "broadcast", "feed_for_type", "default"]

log = logging.getLogger("tacws_publish")

# TAC WebBuilder's message types and the tacws feed whose subscribers read them.
FEED_BY_TYPE = {
    "workflows_update": "workflows",
    "workflow_update": "workflows",
    "routes_update": "routes",
    "workflow_history_update": "workflow-history",
    "adw_monitor_update": "adw-monitor",
    "queue_update": "queue",
    "workflow_completed": "queue",
    "adw_state_update": "adw-state",
    "system_status_update": "system-status",
    "webhook_status_update": "webhook-status",
    "planned_features_update": "planned-features",
    "qc_metrics_update": "qc-metrics",
}

_FEED_RE = re.compile(r"^[a-z0-9_-]{1,64}$")
_QUEUE_MAX = 1000  # background calls waiting; more are dropped and logged
_LOG_EVERY_S = 60.0
_MAX_ANSWER = 64 * 1024


def feed_for_type(message_type):
    """The tacws feed for one of TAC's message types, or None."""
    return FEED_BY_TYPE.get(message_type)


def _env_float(name, fallback):
    try:
        return float(os.environ.get(name, fallback))
    except ValueError:
        log.warning("tacws_publish: %s is not a number; using %s", name, fallback)
        return fallback


class Publisher:
    """One tacwsd to publish to. Thread-safe; share one per process."""

    def __init__(self, url=None, token=None, timeout=None, background=None, api_prefix=None):
        url = url or os.environ.get("TACWS_URL") or "http://127.0.0.1:8003"
        self.token = token if token is not None else os.environ.get("TACWS_PUBLISH_TOKEN", "")
        self.timeout = timeout if timeout is not None else _env_float("TACWS_PUBLISH_TIMEOUT_S", 1.0)
        if background is None:
            background = os.environ.get("TACWS_PUBLISH_BACKGROUND", "0") not in ("", "0", "false")
        self.background = background
        prefix = api_prefix if api_prefix is not None else os.environ.get("TACWS_API_PREFIX", "/api/v1")
        parts = urllib.parse.urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._base = parts.path.rstrip("/") + "/" + prefix.strip("/")
        self._lock = threading.Lock()
        self._failures = 0  # since the last logged failure
        self._last_logged = 0.0
        self._failing = False
        self._queue = None
        self._thread = None

    # The calls. Each returns tacws's count (subscribers reached, topics polled),
    # or None on failure or when queued to the background thread.

    def publish(self, feed, message_type, data, param=None, background=None):
        """Sends {"type": message_type, "data": data} to the feed's subscribers now
        (param: one topic of a parameterised feed, such as an adw_id for adw-state).
        data must be JSON-serialisable; datetimes and other objects become str()."""
        body = {"feed": feed, "type": message_type, "data": data}
        if param is not None:
            body["param"] = param
        return self._call("/publish", body, "publish %s %s" % (feed, message_type), background)

    def refresh(self, feed, param=None, background=None):
        """Asks tacws to poll the feed (or one of its topics) now."""
        if not isinstance(feed, str) or not _FEED_RE.match(feed):
            log.warning("tacws_publish: refresh: bad feed name %r", feed)
            return None
        body = {"param": param} if param is not None else None
        return self._call("/feeds/%s/refresh" % feed, body, "refresh %s" % feed, background)

    def broadcast(self, message, feed=None, background=None):
        """A drop-in for TAC's ConnectionManager.broadcast(message): the feed is
        found from message["type"] unless given; adw_state_update goes to the
        topic of message["adw_id"]. A message without "data" (TAC's phase
        coordinator sends {"type": "queue_update", "queue_id": ...}) has nothing
        a subscriber could render: the feed is refreshed instead."""
        try:
            message_type = message["type"]
            feed = feed or FEED_BY_TYPE[message_type]
            param = message.get("adw_id") if feed == "adw-state" else None
            has_data = "data" in message
        except (KeyError, TypeError, AttributeError):
            log.warning("tacws_publish: broadcast: no feed for message %.80r", message)
            return None
        if not has_data:
            return self.refresh(feed, param=param, background=background)
        return self.publish(feed, message_type, message["data"], param=param,
                            background=background)

    def flush(self, timeout=None):
        """Waits until the background queue is empty (or timeout seconds). True when empty."""
        q = self._queue
        if q is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        with q.all_tasks_done:
            while q.unfinished_tasks:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                q.all_tasks_done.wait(left)
        return True

    # Internals.

    def _call(self, path, body, what, background):
        try:
            payload = b"" if body is None else json.dumps(
                body, default=str, allow_nan=False, separators=(",", ":")).encode("utf-8")
        except (TypeError, ValueError) as e:
            self._failed(what, "data is not JSON: %s" % e)
            return None
        if self.background if background is None else background:
            self._enqueue(path, payload, what)
            return None
        return self._post(path, payload, what)

    def _enqueue(self, path, payload, what):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._queue = self._queue or queue.Queue(_QUEUE_MAX)
                self._thread = threading.Thread(target=self._drain, name="tacws-publish",
                                                daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait((path, payload, what))
        except queue.Full:
            self._failed(what, "background queue full (%d waiting)" % _QUEUE_MAX)

    def _drain(self):
        while True:
            path, payload, what = self._queue.get()
            try:
                self._post(path, payload, what)
            except Exception as e:  # never let the thread die
                self._failed(what, "unexpected %s: %s" % (type(e).__name__, e))
            finally:
                self._queue.task_done()

    def _post(self, path, payload, what):
        headers = {"Content-Type": "application/json", "Content-Length": str(len(payload))}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        if self._https:
            conn = http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout,
                                               context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        try:
            conn.request("POST", self._base + path, body=payload, headers=headers)
            resp = conn.getresponse()
            answer = resp.read(_MAX_ANSWER)
            status = resp.status
        except (OSError, http.client.HTTPException) as e:
            self._failed(what, "%s: %s" % (type(e).__name__, e or "no answer"))
            return None
        finally:
            conn.close()
        if status != 202:
            self._failed(what, "HTTP %d %s" % (status, answer[:200].decode("utf-8", "replace")))
            return None
        self._succeeded()
        try:
            counts = json.loads(answer)
            return int(next(iter(counts.values())))
        except (ValueError, TypeError, StopIteration, AttributeError):
            return 0

    def _failed(self, what, why):
        """Logs the first failure and then at most one a minute, with the count skipped."""
        now = time.monotonic()
        with self._lock:
            self._failing = True
            if self._last_logged and now - self._last_logged < _LOG_EVERY_S:
                self._failures += 1
                return
            skipped, self._failures, self._last_logged = self._failures, 0, now
        more = " (%d more failures not logged)" % skipped if skipped else ""
        log.warning("tacws_publish: %s to %s:%d failed: %s%s", what, self._host, self._port, why,
                    more)

    def _succeeded(self):
        with self._lock:
            if not self._failing:
                return
            self._failing, self._failures, self._last_logged = False, 0, 0.0
        log.info("tacws_publish: %s:%d answers again", self._host, self._port)


_default = None
_default_lock = threading.Lock()


def default():
    """The process-wide Publisher, configured from the environment on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Publisher()
        return _default


def publish(feed, message_type, data, param=None, background=None):
    return default().publish(feed, message_type, data, param=param, background=background)


def refresh(feed, param=None, background=None):
    return default().refresh(feed, param=param, background=background)


def broadcast(message, feed=None, background=None):
    return default().broadcast(message, feed=feed, background=background)
