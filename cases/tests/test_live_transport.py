"""The live conversation's long poll (cases/live.py): woken within a moment by a message published after commit,
bounded wait, a cap on waiting requests, no leakage between cases or to customers, and the embedded fallback
(no Redis: database re-checks) as well as Redis pub/sub between processes.

Real threads against PostgreSQL (``transaction=True``): the waiting request runs in its own thread with its own
connection, as it does in a gunicorn gthread worker; the writer commits from the test's thread."""

import os
import re
import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from cases import live
from cases.models import Case, Message
from cases.services.cases import case_create
from cases.services.messages import message_post
from customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def live_settings(settings):
    """Embedded default shape: no Redis, quick DB re-checks, short waits (tests stay fast)."""

    def apply(**overrides):
        settings.RH_LIVE = {
            **settings.RH_LIVE,
            "REDIS_URL": "",
            "WAIT_SECONDS": 3.0,
            "RECHECK_SECONDS": 0.2,
            "MAX_WAITERS": 8,
            "MAX_DB_WAITERS": 8,
            **overrides,
        }
        return settings.RH_LIVE

    apply()
    return apply


@pytest.fixture
def held_chat(customer, department, agent):
    case = case_create(customer=customer, channel="chat", department=department, subject="Parcel missing")
    Case.objects.filter(pk=case.pk).update(status=Case.Status.ASSIGNED, assignee=agent)
    return Case.objects.get(pk=case.pk)


class Poll(threading.Thread):
    """One page's waiting poll, in its own thread (and DB connection), like a server thread."""

    def __init__(self, user, url, params):
        super().__init__(daemon=True)
        self.client = Client()
        self.client.force_login(user)
        self.url, self.params = url, params
        self.response = None
        self.html = ""
        self.answered_at = None

    def run(self):
        try:
            self.response = self.client.get(self.url, self.params, headers={"HX-Request": "true"})
            self.html = self.response.content.decode()
            self.answered_at = time.monotonic()
        finally:
            connection.close()


def _customer_poll(case, user, after, state=None):
    state = state if state is not None else f"{case.status}.{case.assignee_id or 0}"
    url = reverse("escalations:live_chat_poll", kwargs={"reference": case.reference})
    return Poll(user, url, {"after": after, "state": state, "wait": "1"})


def _workspace_poll(case, user, after, state="0"):
    url = reverse("cases:workspace_poll", kwargs={"reference": case.reference})
    return Poll(user, url, {"after": after, "state": state, "wait": "1"})


def _waiting(poll, n=1, timeout=3.0):
    """Start the poll and return once it is registered as a waiter (or has answered)."""
    before = live.hub.count
    poll.start()
    deadline = time.monotonic() + timeout
    while live.hub.count < before + n and poll.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert poll.is_alive(), f"answered at once instead of waiting: {poll.html[:300]}"
    time.sleep(0.05)  # past its first check
    return poll


def _last_id(case):
    return Message.objects.filter(case=case).order_by("-id").values_list("id", flat=True).first() or 0


def test_customer_poll_is_woken_by_the_associates_message_at_once(live_settings, held_chat, customer, agent):
    live_settings(WAIT_SECONDS=10.0, RECHECK_SECONDS=5.0)  # only the publish can answer it quickly
    poll = _waiting(_customer_poll(held_chat, customer.user, _last_id(held_chat)))
    sent = time.monotonic()
    message = message_post(case_id=held_chat.pk, kind="agent", body="Hi, Alice here.", author=agent)
    poll.join(5)
    assert poll.response.status_code == 200
    assert poll.answered_at - sent < 1.0
    assert "Hi, Alice here." in poll.html
    # the new poller carries the new position and re-arms at once
    assert f"after={message.pk}&amp;state=assigned.{agent.pk}&amp;wait=1" in poll.html
    assert re.search(r'hx-trigger="load, ', poll.html)


def test_associate_poll_is_woken_by_the_customers_message(live_settings, held_chat, customer, agent):
    live_settings(WAIT_SECONDS=10.0, RECHECK_SECONDS=5.0)
    poll = _waiting(_workspace_poll(held_chat, agent, _last_id(held_chat)))
    sent = time.monotonic()
    client = Client()
    client.force_login(customer.user)
    url = reverse("escalations:live_chat", kwargs={"reference": held_chat.reference})
    client.post(url, {"body": "The photo is not my porch."}, headers={"HX-Request": "true"})
    poll.join(5)
    assert poll.answered_at - sent < 1.0
    assert "The photo is not my porch." in poll.html


def test_the_status_line_change_wakes_the_customer(live_settings, customer, department, agent):
    from cases.services.queue import case_take_next

    live_settings(WAIT_SECONDS=10.0, RECHECK_SECONDS=5.0)
    case = case_create(customer=customer, channel="chat", department=department, subject="Hello")
    poll = _waiting(_customer_poll(case, customer.user, _last_id(case)))
    sent = time.monotonic()
    case_take_next(user=agent)
    poll.join(5)
    assert poll.answered_at - sent < 1.0
    assert "An associate has joined" in poll.html


def test_nothing_new_answers_empty_after_the_bounded_wait(live_settings, held_chat, customer):
    live_settings(WAIT_SECONDS=0.6)
    after = _last_id(held_chat)
    poll = _customer_poll(held_chat, customer.user, after)
    started = time.monotonic()
    poll.start()
    poll.join(5)
    assert poll.response.status_code == 200
    assert 0.55 <= poll.answered_at - started < 3.0
    assert 'class="bubble' not in poll.html
    assert f"after={after}&amp;" in poll.html and 'hx-trigger="load, ' in poll.html
    assert live.hub.count == 0


def test_over_the_cap_the_poll_answers_at_once_and_the_page_polls_later(live_settings, held_chat, customer, agent):
    live_settings(MAX_WAITERS=1, MAX_DB_WAITERS=1, WAIT_SECONDS=5.0, BUSY_RETRY_SECONDS=2)
    first = _waiting(_workspace_poll(held_chat, agent, _last_id(held_chat)))
    started = time.monotonic()
    second = _customer_poll(held_chat, customer.user, _last_id(held_chat))
    second.start()
    second.join(5)
    assert second.answered_at - started < 1.0  # did not wait: no thread held
    assert 'hx-trigger="load delay:2s, ' in second.html
    assert first.is_alive()  # the one under the cap still waits
    message_post(case_id=held_chat.pk, kind="agent", body="wake up", author=agent)
    first.join(5)
    assert "wake up" in first.html
    assert live.hub.count == 0


def test_over_the_cap_news_is_still_answered(live_settings, held_chat, customer, agent):
    live_settings(MAX_WAITERS=0, MAX_DB_WAITERS=0)
    after = _last_id(held_chat)
    message_post(case_id=held_chat.pk, kind="agent", body="already here", author=agent)
    poll = _customer_poll(held_chat, customer.user, after)
    poll.start()
    poll.join(5)
    assert "already here" in poll.html and 'hx-trigger="load, ' in poll.html


def test_a_waiter_never_gets_another_cases_messages_nor_a_customer_internal_notes(
    live_settings, held_chat, customer, department, agent
):
    live_settings(WAIT_SECONDS=1.5, RECHECK_SECONDS=0.1)
    other_customer = CustomerFactory(user__username="dave")
    other = case_create(customer=other_customer, channel="chat", department=department, subject="Other")
    Case.objects.filter(pk=other.pk).update(status=Case.Status.ASSIGNED, assignee=agent)
    poll = _waiting(_customer_poll(held_chat, customer.user, _last_id(held_chat)))
    started = time.monotonic()
    message_post(case_id=other.pk, kind="agent", body="for dave only", author=agent)
    message_post(case_id=held_chat.pk, kind="note", body="internal: check GPS", author=agent)
    poll.join(5)
    # neither woke it: it answered at the end of its wait, with nothing
    assert poll.answered_at - started >= 1.2
    assert "for dave only" not in poll.html and "internal: check GPS" not in poll.html
    assert 'class="bubble' not in poll.html
    # the associate's waiter does get the note, and only this case's
    staff = _workspace_poll(held_chat, agent, 0)
    staff.start()
    staff.join(5)
    assert "internal: check GPS" in staff.html and "for dave only" not in staff.html


def test_a_customer_cannot_wait_on_someone_elses_case(live_settings, held_chat):
    other_customer = CustomerFactory(user__username="mallory")
    poll = _customer_poll(held_chat, other_customer.user, 0)
    poll.start()
    poll.join(5)
    assert poll.response.status_code == 404
    assert live.hub.count == 0


def test_bad_parameters_never_500(live_settings, held_chat, customer):
    live_settings(WAIT_SECONDS=0.2)
    url = reverse("escalations:live_chat_poll", kwargs={"reference": held_chat.reference})
    client = Client()
    client.force_login(customer.user)
    response = client.get(url, {"after": "x'; drop", "state": "\x00" * 2000, "wait": "1"})
    assert response.status_code == 200
    connection.close()


def test_embedded_fallback_finds_a_message_written_by_another_process(live_settings, held_chat, customer, agent):
    # no Redis, and the write does not go through this process's publish (another gunicorn worker wrote it):
    # the waiter's database re-check finds it within its interval
    live_settings(REDIS_URL="", WAIT_SECONDS=10.0, RECHECK_SECONDS=0.2)
    poll = _waiting(_customer_poll(held_chat, customer.user, _last_id(held_chat)))
    sent = time.monotonic()
    Message.objects.create(case=held_chat, kind="agent", body="from the other worker", author=agent)
    poll.join(5)
    assert poll.answered_at - sent < 1.0
    assert "from the other worker" in poll.html


def test_publish_happens_after_commit_and_never_for_a_rollback(live_settings, held_chat, agent):
    event = live.hub.register(held_chat.pk, (live.MESSAGE,))
    try:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                message_post(case_id=held_chat.pk, kind="agent", body="never sent", author=agent)
                raise RuntimeError("rolled back")
        assert not event.is_set()
        with transaction.atomic():
            message_post(case_id=held_chat.pk, kind="agent", body="sent", author=agent)
            assert not event.is_set()  # not before the commit
        assert event.is_set()
    finally:
        live.hub.unregister(held_chat.pk, event)


def test_an_arriving_viewer_wakes_the_other_viewers_poll(live_settings, held_chat, agent, supervisor):
    live_settings(WAIT_SECONDS=10.0, RECHECK_SECONDS=5.0)
    poll = _waiting(_workspace_poll(held_chat, agent, _last_id(held_chat), state="0"))
    sent = time.monotonic()
    client = Client()
    client.force_login(supervisor)
    assert client.get(reverse("cases:workspace", kwargs={"reference": held_chat.reference})).status_code == 200
    poll.join(5)
    assert poll.answered_at - sent < 1.5
    assert "Also viewing" in poll.html and "sam" in poll.html
    assert f"state={supervisor.pk}&amp;" in poll.html
    connection.close()


def _redis_or_skip():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {TEST_REDIS_URL}")
    return client


def test_redis_pub_sub_wakes_a_waiter_for_a_publish_from_another_process(live_settings, held_chat, customer, agent):
    redis_client = _redis_or_skip()
    # database re-checks far apart: only the Redis message can answer it quickly
    live_settings(REDIS_URL=TEST_REDIS_URL, WAIT_SECONDS=10.0, RECHECK_SECONDS=8.0, PUSH_RECHECK_SECONDS=8.0)
    live.hub.ensure_listener(TEST_REDIS_URL)
    assert live.hub.listening.wait(5), "the listener did not subscribe"
    poll = _waiting(_customer_poll(held_chat, customer.user, _last_id(held_chat)))
    # another process commits a message and publishes (this process's own hub is not told directly)
    Message.objects.create(case=held_chat, kind="agent", body="published elsewhere", author=agent)
    sent = time.monotonic()
    redis_client.publish(live.CHANNEL, f"{held_chat.pk}:{live.MESSAGE}")
    poll.join(5)
    assert poll.answered_at - sent < 1.0
    assert "published elsewhere" in poll.html
