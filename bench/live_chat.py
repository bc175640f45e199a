"""Live chat latency with 50 concurrent conversations: message sent → shown to the other side, p50 / p95.

Both sides go through the pages' own mechanism over HTTP against gunicorn (config/gunicorn.conf.py, the same
server settings as `make run`): the customer posts to ``escalations:live_chat`` and the associate to
``cases:workspace_reply`` (htmx POSTs), and each side's page long-polls its poll partial (``live_chat_poll`` /
``workspace_poll``) exactly as the page's poller element does (templates + static/js/live_chat.js): it requests the
URL in the poller's ``hx-get`` (``?after=…&state=…&wait=1``), the answer replaces the poller, and the new poller's
``hx-trigger`` decides the next request: ``load`` = at once, ``load delay:Ns`` (the server was at its cap of
waiting requests) = after N s or at once when this side's own POST succeeds (its ``chat-refresh``); a failed
request is retried after 2, 4, 8, 16, 30 s like the page's script. The first request carries the ``after`` and
``state`` the page would render (same selectors); the pages themselves are not loaded (the page-throughput
benchmark measures them).
Latency = from the start of the sender's POST to the first poll response on the other side that contains the
message. Each conversation is a customer and an associate (up to 3 chats each, as the capacity rule says),
each side sending every 3–6 s for ``--seconds``.

Before the measured ``--seconds`` the same tabs chat for ``--warmup`` seconds (default 10, discarded) on the freshly
started server: its workers' first seconds (templates compiled, pool and threads created) otherwise land in the
figures, the way the queue page benchmark discards its warm-up samples.

Usage: DATABASE_URL=... python bench/live_chat.py --label 100k [--conversations 50] [--seconds 40] [--warmup 10]
       [--live-redis redis://127.0.0.1:6379/9 | off]
"""

import argparse
import collections
import html
import http.client
import os
import random
import re
import secrets
import statistics
import threading
import time
import urllib.parse

from common import RESULTS, django_setup, pct, write_result
from server import SETTINGS, session_cookie, start, stop

POLLER = re.compile(r'<div id="(?:chat|ws)-poll"[^>]*?hx-get="([^"]+)"[^>]*?hx-trigger="([^"]+)"')
DELAY = re.compile(r"load delay:(\d+(?:\.\d+)?)s")


def next_poll(text, current):
    """What the page's htmx does with a poll answer: the new poller's URL and how long before it fires."""
    match = POLLER.search(text or "")
    if not match:
        return current, None
    delay = DELAY.search(match.group(2))
    return html.unescape(match.group(1)), float(delay.group(1)) if delay else 0.0


def retry_delay(failures):
    """static/js/live_chat.js: 2, 4, 8, 16, then 30 s."""
    return min(30.0, 2.0 ** min(failures, 5))


def setup(n):
    """``n`` open live-chat cases, each with its own customer login, held by bench associates (3 chats each)."""
    from django.contrib.auth import get_user_model

    from cases.models import AgentProfile, Case, Department, Role
    from cases.services.cases import case_create
    from customers.models import Customer

    User = get_user_model()
    general = Department.objects.get(slug="general")
    convs = []
    for i in range(n):
        agent, _ = User.objects.get_or_create(username=f"bench-chat-agent-{i // 3:02d}")
        profile, _ = AgentProfile.objects.get_or_create(user=agent, defaults={"role": Role.ASSOCIATE})
        AgentProfile.objects.filter(pk=profile.pk).update(presence=AgentProfile.Presence.AVAILABLE)
        profile.departments.add(general)
        cust_user, _ = User.objects.get_or_create(username=f"bench-chat-customer-{i:02d}")
        customer, _ = Customer.objects.get_or_create(
            user=cust_user, defaults={"name": f"Chat Customer {i}", "email": f"chat{i}@example.com"}
        )
        case = Case.objects.filter(customer=customer, channel="chat", status="assigned", assignee=agent).first()
        if case is None:
            case = case_create(customer=customer, channel="chat", department=general, subject="Live chat benchmark")
            # The bench's own bookkeeping: hand the chat to its associate directly (the claim path is benchmarked
            # separately in take_next.py); status change through the one transition service under a lock.
            from django.db import transaction

            from cases.services.cases import case_transition

            with transaction.atomic():
                locked = Case.objects.select_for_update().get(pk=case.pk)
                locked.assignee = agent
                case_transition(case=locked, new_status=Case.Status.ASSIGNED, actor=agent)
            case.refresh_from_db()
        convs.append({"ref": case.reference, "case_id": case.pk, "agent": agent, "customer": cust_user})
    return convs


class Side(threading.Thread):
    """One browser tab: polls its partial every second (after each answer) and posts messages now and then."""

    def __init__(
        self, *, name, host, port, cookie, csrf, poll_path, post_path, after, state, stop_at, sent, seen, lock
    ):
        super().__init__(daemon=True)
        self.name, self.host, self.port = name, host, port
        self.headers = {"Cookie": f"sessionid={cookie}; csrftoken={csrf}", "HX-Request": "true", "X-CSRFToken": csrf}
        self.poll_path, self.post_path, self.after, self.stop_at = poll_path, post_path, after, stop_at
        self.state = state
        self.rejected = {}
        self.sent, self.seen, self.lock = sent, seen, lock  # sent: marker -> t0 ; seen: marker -> t1 (other side)
        self.pending = set()  # markers the OTHER side sent that we have not seen yet (filled lazily)
        self.errors = 0
        self.polls = 0
        self.delayed = 0  # polls answered "busy, ask again in N s" (over the server's cap of waiting requests)
        self.refresh = threading.Event()  # the POST answer's HX-Trigger: chat-refresh
        self.post_seconds = []
        self.error_kinds = collections.Counter()  # (method, status or exception name) -> count

    def request(self, conn, method, path, body=None):
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                # The server closed the idle keep-alive connection (gunicorn keeps it 2 s; we send every 3-6 s):
                # a browser opens a new connection and sends again, so do we, once.
                conn.close()
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
            data = resp.read().decode("utf-8", "replace")
            if resp.status >= 400:
                self.errors += 1
                self.error_kinds[f"{method} {resp.status}"] += 1
                return None if method == "POST" else data
            return data
        except (OSError, http.client.HTTPException) as exc:
            self.errors += 1
            self.error_kinds[f"{method} {type(exc).__name__}"] += 1
            conn.close()
            return ""

    def run(self):
        poll_conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        post_conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        rng = random.Random(hash(self.name))
        next_send = time.time() + rng.uniform(0.5, 3.0)
        seq = 0
        sender = threading.Thread(target=self._send_loop, args=(post_conn, rng, next_send, seq), daemon=True)
        sender.start()
        # the poller URL the page renders: its last message and what it shows (status line / other viewers)
        url = f"{self.poll_path}?{urllib.parse.urlencode({'after': self.after, 'state': self.state, 'wait': 1})}"
        failures = 0
        while time.time() < self.stop_at + 3:  # keep polling a little after the last send
            self.refresh.clear()  # a chat-refresh while a request is in flight is dropped by htmx (element swapped)
            errors_before = self.errors
            text = self.request(poll_conn, "GET", url)
            now = time.time()
            if text:
                with self.lock:
                    for marker in list(self.sent):
                        if marker.startswith(self.name + ":"):
                            continue  # our own message
                        if marker not in self.seen and marker in text:
                            self.seen[marker] = now
            if self.errors > errors_before:
                failures += 1
                delay = retry_delay(failures)
            else:
                failures = 0
                url, delay = next_poll(text, url)
                if delay is None:  # no poller in the answer (should not happen): retry like an error
                    failures += 1
                    delay = retry_delay(failures)
            self.polls += 1
            if delay:
                self.delayed += 1
                self.refresh.clear()
                self.refresh.wait(delay)  # "load delay:Ns", or at once on our own chat-refresh
        sender.join()

    def _send_loop(self, conn, rng, next_send, seq):
        while True:
            delay = next_send - time.time()
            if delay > 0:
                time.sleep(delay)
            if time.time() >= self.stop_at:
                return
            seq += 1
            marker = f"{self.name}:{seq}:{secrets.token_hex(4)}"
            body = urllib.parse.urlencode({"body": f"Benchmark message {marker}"})
            with self.lock:
                self.sent[marker] = time.time()
            ok = self.request(conn, "POST", self.post_path, body)
            self.post_seconds.append(time.time() - self.sent[marker])  # the POST's own time (part of the latency)
            if not ok:
                with self.lock:  # refused or failed: not a message the other side can see, count it apart
                    self.rejected[marker] = self.sent.pop(marker)
            else:
                self.refresh.set()
            next_send = time.time() + rng.uniform(3.0, 6.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True)
    ap.add_argument("--conversations", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=40)
    ap.add_argument("--port", type=int, default=8766)
    ap.add_argument(
        "--warmup",
        type=int,
        default=10,
        help="seconds of the same chatting on the freshly started server before the measured period (discarded)",
    )
    ap.add_argument(
        "--live-redis",
        default=os.environ.get("BENCH_LIVE_REDIS_URL", "redis://127.0.0.1:6379/9"),
        help="Redis for the long polls' pub/sub (the production shape); 'off' = the embedded fallback "
        "(waiters re-check the database)",
    )
    args = ap.parse_args()
    os.environ["RH_LIVE_REDIS_URL"] = args.live_redis  # gunicorn (bench/server.py) inherits it
    django_setup()
    from django.db import connection
    from django.db.models import Max
    from django.urls import reverse

    from cases.models import Case, Message
    from cases.selectors import case_viewers, live_token_customer, live_token_viewers

    convs = setup(args.conversations)
    for c in convs:
        c["agent_cookie"] = session_cookie(c["agent"])
        c["customer_cookie"] = session_cookie(c["customer"])
    connection.close()

    def period(seconds):
        """Every tab opens (as its page renders it) and chats for ``seconds``; returns what was sent and seen."""
        for c in convs:
            c["after"] = Message.objects.filter(case_id=c["case_id"]).aggregate(m=Max("id"))["m"] or 0
            # what each page would render into its poller (the same selectors as the views)
            case = Case.objects.get(pk=c["case_id"])
            c["customer_state"] = live_token_customer(case=case)
            viewers = case_viewers(case=case, exclude_user=c["agent"])
            c["agent_state"] = live_token_viewers(user_ids=[u.pk for u in viewers])
        connection.close()
        sent, seen, lock = {}, {}, threading.Lock()
        stop_at = time.time() + seconds
        sides = []
        for i, c in enumerate(convs):
            ref = c["ref"]
            common = {
                "host": "127.0.0.1",
                "port": args.port,
                "stop_at": stop_at,
                "sent": sent,
                "seen": seen,
                "lock": lock,
            }
            sides.append(
                Side(name=f"c{i}", cookie=c["customer_cookie"], csrf=secrets.token_hex(16),
                     poll_path=reverse("escalations:live_chat_poll", args=[ref]),
                     post_path=reverse("escalations:live_chat", args=[ref]), after=c["after"],
                     state=c["customer_state"], **common)
            )  # fmt: skip
            sides.append(
                Side(name=f"a{i}", cookie=c["agent_cookie"], csrf=secrets.token_hex(16),
                     poll_path=reverse("cases:workspace_poll", args=[ref]),
                     post_path=reverse("cases:workspace_reply", args=[ref]), after=c["after"],
                     state=c["agent_state"], **common)
            )  # fmt: skip
        if not sides:
            raise SystemExit("no conversations")
        for side in sides:
            side.start()
        for side in sides:
            side.join()
        return sent, seen, sides, stop_at

    log = (RESULTS / "gunicorn_live_chat.log").open("a")
    proc = start(args.port, log=log)
    try:
        warm = {}
        if args.warmup > 0:  # discarded, like the queue page's warm-ups: the first seconds of freshly forked workers
            w_sent, w_seen, _, _ = period(args.warmup)
            warm = {"seconds": args.warmup, "messages": len(w_sent), "seen": len(w_seen)}
        sent, seen, sides, stop_at = period(args.seconds)
    finally:
        stop(proc)
    lat = {"customer_to_agent": [], "agent_to_customer": []}
    missing = {"customer_to_agent": 0, "agent_to_customer": 0}
    started_at = stop_at - args.seconds
    late = []  # when the messages that took over 1 s were sent (s after the start): a burst or all along?
    for marker, t0 in sent.items():
        direction = "customer_to_agent" if marker.startswith("c") else "agent_to_customer"
        if marker in seen:
            lat[direction].append(seen[marker] - t0)
            if seen[marker] - t0 > 1.0:
                late.append(round(t0 - started_at, 1))
        else:
            missing[direction] += 1
    out = {
        "label": args.label,
        "conversations": args.conversations,
        "seconds": args.seconds,
        "transport": "long poll (wait=1), htmx poller semantics",
        "live_redis": args.live_redis,
        "warmup": warm,
    }
    out["gunicorn"] = SETTINGS
    out["http_errors"] = sum(s.errors for s in sides)
    out["http_error_kinds"] = dict(sum((s.error_kinds for s in sides), collections.Counter()))
    out["posts_refused"] = sum(len(s.rejected) for s in sides)
    out["polls"] = sum(s.polls for s in sides)
    out["polls_told_to_wait"] = sum(s.delayed for s in sides)
    out["late_sent_at_s"] = sorted(late)
    posts_ms = [v * 1000 for side in sides for v in side.post_seconds]
    if posts_ms:
        out["post_ms"] = {"p50": round(statistics.median(posts_ms), 1), "p95": round(pct(posts_ms, 95), 1)}
    # Also, apart: messages sent after the first 5 s. At the start all 100 tabs send their first poll in the same
    # instant and the first POSTs follow 0.5-3 s later, which no real population of browsers does; the headline
    # figures above keep every message.
    steady = [seen[m] - t0 for m, t0 in sent.items() if m in seen and t0 - started_at >= 5.0]
    if steady:
        ms = [v * 1000 for v in steady]
        out["after_first_5s"] = {
            "messages": len(ms),
            "p50_ms": round(statistics.median(ms), 1),
            "p95_ms": round(pct(ms, 95), 1),
            "max_ms": round(max(ms), 1),
        }
    allv = lat["customer_to_agent"] + lat["agent_to_customer"]
    for name, values in [*lat.items(), ("all", allv)]:
        ms = [v * 1000 for v in values]
        out[name] = {
            "messages": len(ms),
            "never_seen": missing.get(name, sum(missing.values())),
            "p50_ms": round(statistics.median(ms), 1) if ms else None,
            "p95_ms": round(pct(ms, 95), 1) if ms else None,
            "max_ms": round(max(ms), 1) if ms else None,
        }
    write_result("live_chat", out)


if __name__ == "__main__":
    main()
