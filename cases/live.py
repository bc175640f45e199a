"""Live conversation transport: long polling woken by a publish after commit (docs/WORKSPACE.md, "Live chat").

A poll request that has nothing new for its viewer waits here, in its own server thread, until something about
its case is published (``case_news_publish``, called by the message and status services through
``transaction.on_commit``) or until ``WAIT_SECONDS`` pass; then the view answers and the browser re-arms at once.

- With Redis (``settings.RH_LIVE["REDIS_URL"]``, taken from ``CACHE_URL`` or ``CELERY_BROKER_URL`` when they are
  Redis): every web process runs one listener thread subscribed to ``rh:live``; a publish from any process wakes
  the waiters of that case in every process. While the listener is connected a waiter re-checks the database only
  when woken (and every ``PUSH_RECHECK_SECONDS`` as a safety net) and holds no database connection while it waits.
- Without Redis (the embedded default: SQLite + kombu's filesystem broker): waiters re-check the database every
  ``RECHECK_SECONDS``; a publish in the same process still wakes them at once. Also the fallback while Redis is
  unreachable: nothing is lost, latency becomes the re-check interval.
- Waiting holds a server thread, so a process lets at most ``MAX_WAITERS`` requests wait (fewer, ``MAX_DB_WAITERS``,
  when waiters keep a database connection to re-check it): over the cap the view answers at once and the page polls again after
  ``BUSY_RETRY_SECONDS``, so page requests always find a free thread.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import connection, transaction

log = logging.getLogger(__name__)

CHANNEL = "rh:live"

# What happened on a case. Waiters say which kinds concern them (a customer is not woken by an internal note).
MESSAGE = "msg"  # a public message (customer, agent, assistant, system)
NOTE = "note"  # an internal note: staff only
CASE = "case"  # status / assignee changed (the customer's status line)
VIEWER = "viewer"  # someone opened the workspace (the "also viewing" line)

READY, TIMEOUT, BUSY = "ready", "timeout", "busy"


class _Hub:
    """Per-process registry of waiting requests, and the Redis listener that wakes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[int, dict[threading.Event, frozenset]] = {}
        self.count = 0
        self.listening = threading.Event()  # set while subscribed to Redis
        self.draining = threading.Event()  # set: every wait ends now (server or test shutting down)
        self._listener_pid: int | None = None
        self._listener_url = ""

    # --- waiters -------------------------------------------------------------------------------------------
    def acquire(self, limit: int) -> bool:
        with self._lock:
            if self.count >= limit:
                return False
            self.count += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.count -= 1

    def register(self, case_id: int, kinds: Iterable[str]) -> threading.Event:
        event = threading.Event()
        with self._lock:
            self._waiters.setdefault(case_id, {})[event] = frozenset(kinds)
        return event

    def unregister(self, case_id: int, event: threading.Event) -> None:
        with self._lock:
            waiting = self._waiters.get(case_id)
            if waiting is not None:
                waiting.pop(event, None)
                if not waiting:
                    del self._waiters[case_id]

    def notify(self, case_id: int, kind: str) -> None:
        with self._lock:
            for event, kinds in self._waiters.get(case_id, {}).items():
                if kind in kinds:
                    event.set()

    def notify_all(self) -> None:
        """After a gap in the subscription (events may have been missed): every waiter re-checks once."""
        with self._lock:
            for waiting in self._waiters.values():
                for event in waiting:
                    event.set()

    def drain(self, timeout: float = 5.0) -> bool:
        """End every wait at once (they answer "nothing new") and refuse new ones until ``resume``; returns when
        no request is waiting any more. For shutdown, and for tests whose browser leaves polls behind."""
        self.draining.set()
        self.notify_all()
        deadline = time.monotonic() + timeout
        while self.count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.count == 0

    def resume(self) -> None:
        self.draining.clear()

    # --- Redis listener ------------------------------------------------------------------------------------
    def ensure_listener(self, url: str) -> None:
        """One daemon thread per process (started after the fork, by the first waiter)."""
        pid = os.getpid()
        if self._listener_pid == pid and self._listener_url == url:
            return
        with self._lock:
            if self._listener_pid == pid and self._listener_url == url:
                return
            self._listener_pid, self._listener_url = pid, url
            self.listening.clear()
            threading.Thread(target=self._listen, args=(url,), name="rh-live-listener", daemon=True).start()

    def _listen(self, url: str) -> None:
        import redis

        backoff = 0.5
        while self._listener_url == url and self._listener_pid == os.getpid():
            pubsub = None
            try:
                client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_keepalive=True)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                self.listening.set()
                self.notify_all()  # anything published before we were subscribed: re-check once
                backoff = 0.5
                while self._listener_url == url:
                    message = pubsub.get_message(timeout=5.0)
                    if message and message.get("type") == "message":
                        self._dispatch(message.get("data"))
            except Exception:  # never let the listener die; meanwhile waiters re-check the database
                log.warning("live updates: Redis subscription lost; re-checking the database meanwhile", exc_info=True)
            finally:
                self.listening.clear()
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:
                        pass
            time.sleep(backoff)
            backoff = min(backoff * 2, 10.0)

    def _dispatch(self, data) -> None:
        try:
            text = data.decode() if isinstance(data, bytes) else str(data)
            case_id, kind = text.split(":", 1)
            self.notify(int(case_id), kind)
        except (ValueError, UnicodeDecodeError):
            log.warning("live updates: ignored malformed event %r", data)


hub = _Hub()
_publisher = {"url": "", "client": None}
_publisher_lock = threading.Lock()


def _redis_url() -> str:
    return settings.RH_LIVE.get("REDIS_URL") or ""


def _publisher_client(url: str):
    with _publisher_lock:
        if _publisher["url"] != url or _publisher["client"] is None:
            import redis

            _publisher["client"] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
            _publisher["url"] = url
        return _publisher["client"]


def _send(case_id: int, kind: str) -> None:
    hub.notify(case_id, kind)  # waiters in this process: at once, with or without Redis
    url = _redis_url()
    if not url:
        return
    try:
        _publisher_client(url).publish(CHANNEL, f"{case_id}:{kind}")
    except Exception:  # the message is committed; other processes see it at their next re-check
        log.warning("live updates: publish to Redis failed for case %s", case_id, exc_info=True)


def case_news_publish(*, case_id: int, kind: str) -> None:
    """Tell the case's waiting polls that something of ``kind`` happened — once the transaction has committed, so a
    woken waiter always finds the new row (and nothing is announced for a rolled-back write)."""
    transaction.on_commit(lambda: _send(case_id, kind))


def _release_db_connection() -> None:
    # Inside a test's wrapping transaction (or any atomic block) the connection must stay.
    if not connection.in_atomic_block:
        connection.close()


def _pooled() -> bool:
    return bool(connection.settings_dict.get("OPTIONS", {}).get("pool"))


def live_wait(*, case_id: int, kinds: Iterable[str], ready: Callable[[], bool]) -> str:
    """Wait until ``ready()`` (the viewer has something new) or the bounded wait ends.

    Returns ``READY`` (answer with the news), ``TIMEOUT`` (answer with nothing new; the page re-arms) or ``BUSY``
    (this process already has its cap of waiters: answer now, the page polls again after a short delay).
    ``ready`` runs once before waiting, after every wake-up, and at least every re-check interval."""
    cfg = settings.RH_LIVE
    url = _redis_url()
    if url:
        hub.ensure_listener(url)
    pushed = bool(url) and hub.listening.is_set()
    pooled = _pooled()
    # A waiter that keeps its connection between database re-checks (no Redis, no pool: SQLite) counts against
    # the smaller cap; with a pool it borrows one only for each re-check.
    limit = cfg["MAX_WAITERS"] if pushed or pooled else min(cfg["MAX_WAITERS"], cfg["MAX_DB_WAITERS"])
    if hub.draining.is_set():
        limit = 0
    slot = hub.acquire(limit)
    event = hub.register(case_id, kinds) if slot else None  # registered before the check: no lost wake-up
    try:
        if ready():
            return READY
        if not slot:
            return BUSY
        deadline = time.monotonic() + cfg["WAIT_SECONDS"]
        while True:
            pushed = bool(url) and hub.listening.is_set()
            if pushed or pooled:
                _release_db_connection()  # nothing to read until woken; 100 waiters must not hold 100 connections
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return TIMEOUT
            interval = cfg["PUSH_RECHECK_SECONDS"] if pushed else cfg["RECHECK_SECONDS"]
            event.wait(min(remaining, interval))
            event.clear()
            if ready():
                return READY
            if hub.draining.is_set():
                return TIMEOUT
    finally:
        if slot:
            hub.unregister(case_id, event)
            hub.release()


def live_done() -> None:
    """End of a long-poll answer (push mode): close its database connection when the request finishes (after the
    session is saved), instead of leaving it open in an idle thread for ``CONN_MAX_AGE`` — with a hundred open
    chats that would be a hundred idle PostgreSQL connections."""
    if _redis_url() and hub.listening.is_set() and not connection.in_atomic_block:
        connection.close_at = time.monotonic()
