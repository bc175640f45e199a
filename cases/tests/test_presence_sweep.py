"""Presence follows the associate: an "available" associate with no page of the portal open (no request from any
of their staff sessions for RH_PRESENCE_IDLE_SECONDS) is set away by the beat sweep, with the reason on their board."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from cases import tasks
from cases.models import AgentProfile
from cases.services.queue import agent_presence_sweep, agent_set_presence, presence_idle

PASSWORD = "pass-word-123"  # customers.tests.factories.UserFactory
IDLE = timedelta(seconds=settings.RH_PRESENCE_IDLE_SECONDS)


def _login(client, user):
    return client.post(reverse("login"), {"username": user.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.9")


def _presence(user) -> tuple[str, str]:
    profile = AgentProfile.objects.get(user=user)
    return profile.presence, profile.presence_note


@pytest.mark.django_db
def test_an_open_board_keeps_an_associate_available_and_a_closed_one_sets_them_away(client, agent):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        # given an associate who signs in and says they are available
        assert _login(client, agent).status_code == 302
        assert client.post(reverse("cases:presence"), {"presence": "available"}).status_code in (200, 302)
        # when their board stays open for 20 minutes (its poll; here every 50 s) and the sweep runs every 30 s
        for step in range(24):
            traveller.shift(timedelta(seconds=50))
            assert client.get(reverse("cases:queues"), HTTP_HX_REQUEST="true").status_code == 200
            if step % 2:
                assert agent_presence_sweep() == 0
        # then they are still available
        assert _presence(agent) == ("available", "")
        # when the tab is closed (no request at all) for longer than the idle time
        traveller.shift(IDLE - timedelta(seconds=30))
        assert agent_presence_sweep() == 0  # not yet: the last stamp is under IDLE old
        traveller.shift(timedelta(seconds=60))
        assert agent_presence_sweep() == 1
        presence, note = _presence(agent)
        assert presence == "away"
        assert note == f"no page of the portal was open for {IDLE.seconds // 60} min"
        # when they come back, their board says why, and Available brings them back with the note gone
        html = client.get(reverse("cases:queues")).content.decode()
        assert "You were set to <strong>Away</strong>" in html and note in html
        client.post(reverse("cases:presence"), {"presence": "available"})
        assert _presence(agent) == ("available", "")
        assert agent_presence_sweep() == 0


@pytest.mark.django_db
def test_the_sweep_leaves_away_and_offline_alone_and_runs_twice_harmlessly(agent, supervisor):
    now = timezone.now()
    stale = now - IDLE - timedelta(seconds=1)
    AgentProfile.objects.filter(user=agent).update(presence="available", last_seen_at=stale)
    AgentProfile.objects.filter(user=supervisor).update(presence="offline", last_seen_at=stale)
    # the first run sets the stale available associate away; the offline supervisor stays offline
    assert agent_presence_sweep(now=now) == 1
    changed_at = AgentProfile.objects.get(user=agent).presence_changed_at
    assert _presence(supervisor) == ("offline", "")
    # a second run (a beat delivered twice, or two workers) changes nothing
    assert agent_presence_sweep(now=now + timedelta(seconds=30)) == 0
    assert AgentProfile.objects.get(user=agent).presence_changed_at == changed_at
    # the task is the service: called as a plain function it finds nothing more to do
    assert tasks.agent_presence_sweep() == 0


@pytest.mark.django_db
def test_exactly_the_idle_time_is_not_yet_idle(agent):
    now = timezone.now()
    AgentProfile.objects.filter(user=agent).update(presence="available", last_seen_at=now - IDLE)
    assert agent_presence_sweep(now=now) == 0
    assert agent_presence_sweep(now=now + timedelta(microseconds=1)) == 1


@pytest.mark.django_db
def test_the_session_stamps_the_profile_at_most_once_a_minute(client, agent):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        _login(client, agent)
        seen = AgentProfile.objects.get(user=agent).last_seen_at
        # a request 30 s later does not write (the session's own stamp is not due either)
        traveller.shift(timedelta(seconds=30))
        client.get(reverse("cases:queues"), HTTP_HX_REQUEST="true")
        assert AgentProfile.objects.get(user=agent).last_seen_at == seen
        # one 61 s after the last stamp does
        traveller.shift(timedelta(seconds=31))
        client.get(reverse("cases:queues"), HTTP_HX_REQUEST="true")
        assert AgentProfile.objects.get(user=agent).last_seen_at == timezone.now()


@pytest.mark.django_db
def test_signing_in_counts_as_being_seen(client, agent):
    # given an associate left "available" from an earlier day (the sweep had not run: beat was down)
    AgentProfile.objects.filter(user=agent).update(presence="available", last_seen_at=timezone.now() - 2 * IDLE)
    # when they sign in, the sweep that runs right after does not send them away before their first stamp
    assert _login(client, agent).status_code == 302
    assert agent_presence_sweep() == 0
    assert _presence(agent) == ("available", "")


@pytest.mark.django_db
def test_choosing_a_presence_counts_as_being_seen(agent):
    AgentProfile.objects.filter(user=agent).update(last_seen_at=timezone.now() - timedelta(hours=3))
    agent_set_presence(user=agent, presence="available")
    assert agent_presence_sweep() == 0
    assert _presence(agent) == ("available", "")


def test_the_idle_time_is_never_shorter_than_three_session_stamps(settings):
    settings.RH_PRESENCE_IDLE_SECONDS = 10
    assert presence_idle() == timedelta(seconds=3 * settings.RH_STAFF_SESSION["TOUCH_EVERY_SECONDS"])
    settings.RH_PRESENCE_IDLE_SECONDS = 900
    assert presence_idle() == timedelta(minutes=15)


def test_beat_runs_the_sweep_every_30_seconds():
    entry = settings.CELERY_BEAT_SCHEDULE["presence-sweep"]
    assert entry["task"] == "cases.tasks.agent_presence_sweep"
    assert entry["schedule"] == timedelta(seconds=30)


@pytest.mark.django_db(transaction=True)
def test_an_associate_who_clicks_available_while_the_sweep_runs_stays_available(agent):
    # given an available associate idle past the limit (the sweep's snapshot matches them), who presses Available
    # again at the moment the sweep runs
    AgentProfile.objects.filter(user=agent).update(presence="available", last_seen_at=timezone.now() - 2 * IDLE)
    clicked, release, swept = threading.Event(), threading.Event(), []

    def click():
        try:
            with transaction.atomic():
                agent_set_presence(user=agent, presence="available")  # holds the profile row until commit
                clicked.set()
                release.wait(10)
        finally:
            connection.close()

    def sweep():
        try:
            swept.append(agent_presence_sweep())
        finally:
            connection.close()

    clicker = threading.Thread(target=click)
    clicker.start()
    assert clicked.wait(10)
    sweeper = threading.Thread(target=sweep)
    sweeper.start()
    # the sweep waits for the click's row lock (it does not read the old, stale row and act on it) ...
    with connection.cursor() as cur:
        for _ in range(200):
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE %%'"
            )
            if cur.fetchone()[0]:
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the sweep never waited for the click's lock")
    release.set()
    clicker.join(10)
    sweeper.join(10)
    # ... and then checks the row again: the click's fresh stamp keeps them available
    assert swept == [0]
    assert _presence(agent) == ("available", "")
