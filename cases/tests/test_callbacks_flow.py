"""Call Me Now after intake: offered within a sweep, dialed through the adapter, outcomes and retry policy."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.errors import Conflict, NotAllowed
from cases.models import AgentProfile, Callback, Case, CaseEvent
from cases.services.callbacks import (
    OFFER_TIMEOUT,
    RETRY_DELAY,
    callback_dial,
    callback_offer_due,
    callback_record_outcome,
    callback_request,
)
from cases.services.queue import case_take_next
from cases.telephony import LocalTelephony
from cases.tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def requested(customer, department):
    case = callback_request(customer=customer, phone="+1 415 555 0199", department=department)
    return case.callback


def test_a_request_is_offered_to_the_available_associate_on_the_next_sweep(requested, agent):
    # given an available associate with a free call slot (and a colleague who is away)
    AgentFactory(user__username="bob", departments=[requested.case.department], presence="away")
    # when the sweep runs (beat, every 5 s)
    stats = callback_offer_due()
    # then the callback is offered to the available one, who now holds the case
    requested.refresh_from_db()
    assert stats["offered"] == 1
    assert requested.status == Callback.Status.OFFERED and requested.offered_to == agent
    assert Case.objects.get(pk=requested.case_id).assignee == agent


def test_nobody_available_keeps_it_waiting_then_offers_when_someone_is(requested, agent):
    AgentProfile.objects.filter(user=agent).update(presence="away")
    assert callback_offer_due()["waiting"] == 1
    AgentProfile.objects.filter(user=agent).update(presence="available")
    assert callback_offer_due()["offered"] == 1


def test_dial_records_ring_time_and_the_adapter_call(requested, agent):
    callback_offer_due()
    before = len(LocalTelephony.dialed)
    attempt = callback_dial(callback_id=requested.pk, actor=agent, now=requested.requested_at + timedelta(seconds=12))
    requested.refresh_from_db()
    assert requested.status == Callback.Status.DIALING and requested.attempts == 1
    assert requested.ring_seconds == 12
    assert attempt.provider_ref.startswith("call_") and len(LocalTelephony.dialed) == before + 1
    assert LocalTelephony.dialed[-1]["number"] == "+14155550199"


def test_only_the_associate_it_was_offered_to_can_dial(requested, agent, department):
    bob = AgentFactory(user__username="bob", departments=[department]).user
    callback_offer_due()
    with pytest.raises(NotAllowed):
        callback_dial(callback_id=requested.pk, actor=bob)
    requested.refresh_from_db()
    assert requested.status == Callback.Status.OFFERED and requested.attempts == 0


def test_connected_keeps_the_case_with_the_associate(requested, agent):
    callback_offer_due()
    callback_dial(callback_id=requested.pk, actor=agent)
    callback_record_outcome(callback_id=requested.pk, outcome="connected", actor=agent)
    requested.refresh_from_db()
    case = requested.case
    case.refresh_from_db()
    assert requested.status == "connected" and case.assignee == agent and case.first_response_at
    assert requested.dial_attempts.get().outcome == "connected"


def test_no_answer_retries_after_the_delay_then_gives_up(requested, agent):
    now = timezone.now()
    for attempt in range(1, 4):
        callback_offer_due(now=now)
        requested.refresh_from_db()
        assert requested.status == "offered", attempt
        callback_dial(callback_id=requested.pk, actor=agent, now=now)
        callback_record_outcome(callback_id=requested.pk, outcome="no_answer", actor=agent, now=now)
        requested.refresh_from_db()
        if attempt < 3:
            # back in the queue, freed capacity, next try after the retry delay
            assert requested.status == "retry_wait" and requested.next_attempt_at == now + RETRY_DELAY
            assert requested.case.status == "new"
            assert callback_offer_due(now=now)["offered"] == 0  # not yet due
            now += RETRY_DELAY
    assert requested.status == "failed" and requested.attempts == 3
    case = Case.objects.get(pk=requested.case_id)
    assert case.status == "resolved" and case.resolution_reason == "no_response"
    assert case.notifications.filter(title="We could not reach you").exists()


def test_wrong_number_stops_and_asks_the_customer(requested, agent):
    callback_offer_due()
    callback_dial(callback_id=requested.pk, actor=agent)
    callback_record_outcome(callback_id=requested.pk, outcome="wrong_number", actor=agent)
    requested.refresh_from_db()
    assert requested.status == "failed"
    assert Case.objects.get(pk=requested.case_id).status == "waiting_customer"


def test_an_offer_nobody_acts_on_goes_to_someone_else_and_its_associate_is_set_away(requested, agent, department):
    # given two available associates; the first has left with their tab open
    bob = AgentFactory(user__username="bob", departments=[department]).user
    AgentProfile.objects.filter(user=bob).update(presence_changed_at=timezone.now() + timedelta(seconds=1))
    now = timezone.now()
    callback_offer_due(now=now)
    requested.refresh_from_db()
    assert requested.offered_to == agent
    # when the offer times out
    later = now + OFFER_TIMEOUT + timedelta(seconds=1)
    stats = callback_offer_due(now=later)
    # then the colleague has the call, the absent associate is away (so no offer comes back to them), and the
    # case's timeline says why
    requested.refresh_from_db()
    assert requested.offered_to == bob and Case.objects.get(pk=requested.case_id).assignee == bob
    profile = AgentProfile.objects.get(user=agent)
    assert (profile.presence, profile.presence_changed_at) == ("away", later)
    assert stats["set_away"] == 1 and stats["offered"] == 1
    event = CaseEvent.objects.filter(
        case_id=requested.case_id, type=CaseEvent.Type.CALLBACK, new_value="offer missed"
    ).get()
    assert event.data == {"agent_id": agent.pk, "set_away": True} and not event.is_public
    # and when the colleague lets it lapse too, it waits for someone present rather than bouncing back
    stats = callback_offer_due(now=later + OFFER_TIMEOUT + timedelta(seconds=1))
    requested.refresh_from_db()
    assert AgentProfile.objects.get(user=bob).presence == "away"
    assert stats["waiting"] == 1 and requested.status == Callback.Status.PENDING
    assert Case.objects.get(pk=requested.case_id).status == Case.Status.NEW


def test_the_board_tells_the_associate_why_they_are_away_until_they_come_back(requested, agent, client):
    # given an associate whose callback offer lapsed
    now = timezone.now()
    callback_offer_due(now=now)
    callback_offer_due(now=now + OFFER_TIMEOUT + timedelta(seconds=1))
    client.force_login(agent)
    # when their board refreshes (the 3 s poll), it says why they are away
    html = client.get(reverse("cases:queues"), HTTP_HX_REQUEST="true").content.decode()
    assert f"the callback offer for {requested.case.reference} went unanswered for 30 s" in html
    # when they press Available, they are back and the note is gone
    client.post(reverse("cases:presence"), {"presence": "available"})
    profile = AgentProfile.objects.get(user=agent)
    assert (profile.presence, profile.presence_note) == ("available", "")
    assert "went unanswered" not in client.get(reverse("cases:queues")).content.decode()


def test_a_lapsed_offer_leaves_a_chosen_presence_alone(requested, agent):
    # given an associate offered a call who then went offline themselves
    now = timezone.now()
    callback_offer_due(now=now)
    AgentProfile.objects.filter(user=agent).update(presence="offline")
    # when the offer times out, they stay offline (only "available" becomes "away")
    stats = callback_offer_due(now=now + OFFER_TIMEOUT + timedelta(seconds=1))
    assert AgentProfile.objects.get(user=agent).presence == "offline"
    assert stats["set_away"] == 0
    event = CaseEvent.objects.get(case_id=requested.case_id, new_value="offer missed")
    assert event.data == {"agent_id": agent.pk, "set_away": False}


def test_expired_requests_stop_and_tell_the_customer(requested, agent):
    AgentProfile.objects.filter(user=agent).update(presence="away")
    stats = callback_offer_due(now=requested.expires_at + timedelta(seconds=1))
    requested.refresh_from_db()
    assert stats["expired"] == 1 and requested.status == "expired"
    assert requested.case.notifications.filter(title__startswith="We could not call you back").exists()


def test_recording_an_outcome_without_a_dial_is_refused(requested, agent):
    callback_offer_due()
    with pytest.raises(Conflict, match="Dial first"):
        callback_record_outcome(callback_id=requested.pk, outcome="connected", actor=agent)


def test_take_next_on_a_callback_offers_it_to_the_taker(requested, agent):
    case = case_take_next(user=agent, channel="callback")
    requested.refresh_from_db()
    assert case.pk == requested.case_id and requested.status == "offered" and requested.offered_to == agent
    # capacity: one call at a time
    with pytest.raises(Conflict, match="capacity"):
        case_take_next(user=agent, channel="callback")
