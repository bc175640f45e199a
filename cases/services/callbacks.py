"""Call Me Now callbacks: intake creates them here; the workspace offers, dials and records outcomes."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from cases.errors import ApplicationError, Conflict, NotAllowed
from cases.models import (
    AgentProfile,
    Callback,
    CallbackAttempt,
    Case,
    CaseEvent,
    Channel,
    Department,
    Notification,
    Priority,
)
from cases.services.cases import case_create, case_event_record, case_transition
from cases.services.notifications import notification_send
from cases.telephony import TelephonyError, telephony_adapter
from customers.models import Customer
from customers.validators import normalize_phone

CALLBACK_EXPIRY = timedelta(hours=2)
# An offer the associate does not act on within this time goes to the next available associate.
OFFER_TIMEOUT = timedelta(seconds=30)
# Retry policy: no answer / voicemail → try again after RETRY_DELAY, up to Callback.max_attempts dials.
RETRY_DELAY = timedelta(minutes=2)
RING_SLA = timedelta(seconds=60)
SWEEP_BATCH = 50
CALL_CHANNELS = (Channel.CALLBACK, Channel.PHONE)
HELD = (Case.Status.ASSIGNED, Case.Status.WAITING_CUSTOMER)


@transaction.atomic
def callback_request(
    *,
    customer: Customer,
    phone: str,
    department: Department,
    subject: str = "Call me now",
    first_message: str = "",
    priority: int = Priority.HIGH,
    intent: str = "other",
    escalation_reasons: list | None = None,
    triage: dict | None = None,
    order=None,
    order_item=None,
    value_at_stake=None,
    actor=None,
) -> Case:
    """Open a callback case and its ``Callback`` (E.164 phone, normalised here; raises ValidationError if bad)."""
    e164 = normalize_phone(phone)
    now = timezone.now()
    case = case_create(
        customer=customer,
        channel=Channel.CALLBACK,
        department=department,
        subject=subject,
        intent=intent,
        priority=priority,
        first_message=first_message,
        escalation_reasons=escalation_reasons,
        triage=triage,
        order=order,
        order_item=order_item,
        value_at_stake=value_at_stake,
        actor=actor,
        now=now,
    )
    Callback.objects.create(
        case=case, phone=e164, requested_at=now, next_attempt_at=now, expires_at=now + CALLBACK_EXPIRY
    )
    case_event_record(
        case=case,
        type=CaseEvent.Type.CALLBACK,
        actor=actor,
        new="requested",
        data={"phone_last4": e164[-4:]},
        public=True,
    )
    notification_send(
        customer=customer,
        case=case,
        kind=Notification.Kind.CALLBACK,
        title="We will call you within a minute",
        body=f"Your phone (ending {e164[-4:]}) should ring within 60 seconds. Case {case.reference}.",
    )
    return case


# --- Offering (beat sweep every few seconds) -------------------------------------------------------------------


def _candidate_agents(*, department_id: int, exclude: list[int]) -> list[int]:
    """Available associates of the department with a free call slot, longest-idle first (one grouped query)."""
    rows = (
        AgentProfile.objects.filter(departments=department_id, presence=AgentProfile.Presence.AVAILABLE)
        .exclude(user_id__in=exclude)
        .annotate(
            calls=Count(
                "user__assigned_cases",
                filter=Q(user__assigned_cases__status__in=HELD, user__assigned_cases__channel__in=CALL_CHANNELS),
            )
        )
        .filter(calls__lt=F("capacity_call"))
        .order_by("presence_changed_at", "pk")
        .values_list("user_id", flat=True)[:5]
    )
    return list(rows)


def _offer(*, callback: Callback, case: Case, now: datetime, exclude: list[int]) -> bool:
    """Reserve the case for one available associate (assign it) and mark the callback offered."""
    from cases.services.queue import agent_load

    for user_id in _candidate_agents(department_id=case.department_id, exclude=exclude):
        profile = AgentProfile.objects.select_for_update(skip_locked=True).filter(user_id=user_id).first()
        if profile is None or profile.presence != AgentProfile.Presence.AVAILABLE:
            continue
        if agent_load(user_id=user_id)["call"] >= profile.capacity_call:
            continue
        case.assignee_id = user_id
        case_transition(
            case=case,
            new_status=Case.Status.ASSIGNED,
            actor=None,
            data={"via": "callback_offer"},
            public=False,
            now=now,
        )
        callback.status = Callback.Status.OFFERED
        callback.offered_to_id = user_id
        callback.offered_at = now
        callback.next_attempt_at = now + OFFER_TIMEOUT
        callback.save(update_fields=["status", "offered_to", "offered_at", "next_attempt_at"])
        case_event_record(case=case, type=CaseEvent.Type.CALLBACK, new="offered", data={"agent_id": user_id})
        return True
    return False


def _missed_offer(*, user_id: int, case: Case, now: datetime) -> int:
    """Reroute on no answer: an associate who lets an offer lapse is not at their desk (a closed tab keeps them
    "available"), so they go from available to away and get no more offers until they say they are back. Without
    it the next offer could come back to them after a colleague's, each lapse costing the customer 30 s of the 60 s
    ring promise. A profile row someone holds right now (the associate is taking a case) is left as it is."""
    profile = (
        AgentProfile.objects.select_for_update(skip_locked=True)
        .filter(user_id=user_id, presence=AgentProfile.Presence.AVAILABLE)
        .first()
    )
    if profile is not None:
        profile.presence = AgentProfile.Presence.AWAY
        profile.presence_changed_at = now
        profile.presence_note = f"the callback offer for {case.reference} went unanswered for {OFFER_TIMEOUT.seconds} s"
        profile.save(update_fields=["presence", "presence_changed_at", "presence_note"])
    case_event_record(
        case=case,
        type=CaseEvent.Type.CALLBACK,
        new="offer missed",
        data={"agent_id": user_id, "set_away": profile is not None},
    )
    return int(profile is not None)


def _expire(*, callback: Callback, case: Case, now: datetime) -> None:
    callback.status = Callback.Status.EXPIRED
    callback.next_attempt_at = None
    callback.save(update_fields=["status", "next_attempt_at"])
    case_event_record(case=case, type=CaseEvent.Type.CALLBACK, new="expired", public=True)
    notification_send(
        customer=case.customer,
        case=case,
        kind=Notification.Kind.CALLBACK,
        title="We could not call you back in time",
        body=f"Your callback request for case {case.reference} expired. Reply in the chat or request a new call.",
    )


@transaction.atomic
def callback_offer_due(*, now: datetime | None = None) -> dict:
    """One sweep: every due callback (pending, waiting to retry, or an offer nobody acted on) is expired, or
    offered to an available associate. Rows another sweep holds are skipped (``skip_locked``)."""
    now = now or timezone.now()
    stats = {"offered": 0, "expired": 0, "waiting": 0, "reoffered": 0, "set_away": 0}
    due = list(
        Callback.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("case")
        .filter(
            status__in=[Callback.Status.PENDING, Callback.Status.RETRY_WAIT, Callback.Status.OFFERED],
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at")[:SWEEP_BATCH]
    )
    for callback in due:
        case = Case.objects.select_for_update(skip_locked=True, no_key=True).filter(pk=callback.case_id).first()
        if case is None:
            continue  # an associate is working on it right now; next sweep
        exclude: list[int] = []
        if callback.status == Callback.Status.OFFERED:
            # The offer timed out: take it back from that associate and offer it to someone else.
            if case.status == Case.Status.ASSIGNED and case.assignee_id == callback.offered_to_id:
                case_transition(
                    case=case,
                    new_status=Case.Status.NEW,
                    data={"why": "callback offer not taken"},
                    public=False,
                    now=now,
                )
            exclude = [callback.offered_to_id] if callback.offered_to_id else []
            if callback.offered_to_id:
                stats["set_away"] += _missed_offer(user_id=callback.offered_to_id, case=case, now=now)
            callback.status = Callback.Status.PENDING
            stats["reoffered"] += 1
        if callback.expires_at and callback.expires_at <= now:
            _expire(callback=callback, case=case, now=now)
            stats["expired"] += 1
            continue
        if case.status == Case.Status.NEW and _offer(callback=callback, case=case, now=now, exclude=exclude):
            stats["offered"] += 1
            continue
        if case.status in HELD and case.assignee_id:
            # Already with an associate (assigned by a supervisor, or retry for the holder): offer it to them.
            callback.status = Callback.Status.OFFERED
            callback.offered_to_id = case.assignee_id
            callback.offered_at = now
            callback.next_attempt_at = now + OFFER_TIMEOUT
            callback.save(update_fields=["status", "offered_to", "offered_at", "next_attempt_at"])
            stats["offered"] += 1
            continue
        # Nobody free: look again on the next sweep (seconds), keep it at the head by its original due time.
        if callback.status != Callback.Status.PENDING or exclude:
            callback.save(update_fields=["status"])
        stats["waiting"] += 1
    return stats


# --- Dialing and outcomes --------------------------------------------------------------------------------------


@transaction.atomic
def _dial_claim(*, callback_id: int, actor, now: datetime) -> tuple[Callback, CallbackAttempt]:
    callback = Callback.objects.select_for_update().select_related("case").get(pk=callback_id)
    case = Case.objects.select_for_update(no_key=True).get(pk=callback.case_id)
    if callback.status not in (Callback.Status.OFFERED,):
        raise Conflict(f"This callback is {callback.get_status_display().lower()}; it cannot be dialed now.")
    if case.assignee_id != actor.pk:
        raise NotAllowed(f"{case.reference} is offered to someone else.", code="not_assignee")
    callback.attempts += 1
    callback.status = Callback.Status.DIALING
    callback.next_attempt_at = None
    if callback.first_dialed_at is None:
        callback.first_dialed_at = now
    callback.save(update_fields=["attempts", "status", "next_attempt_at", "first_dialed_at"])
    attempt = CallbackAttempt.objects.create(callback=callback, number=callback.attempts, agent=actor, dialed_at=now)
    from cases.services.sla import sla_recompute

    sla_recompute(case=case, now=now)  # the ring-time target is met at the first dial
    case_event_record(
        case=case,
        type=CaseEvent.Type.CALLBACK,
        actor=actor,
        new="dialing",
        data={"attempt": attempt.number, "ring_seconds": callback.ring_seconds},
        public=True,
    )
    return callback, attempt


def callback_dial(*, callback_id: int, actor, now: datetime | None = None) -> CallbackAttempt:
    """The associate dials: claim (lock, DIALING, attempt row, ring time) → adapter call (no lock held) → record
    the provider reference. A telephony outage puts the callback back in the retry queue."""
    now = now or timezone.now()
    callback, attempt = _dial_claim(callback_id=callback_id, actor=actor, now=now)
    try:
        dial = telephony_adapter().dial(
            number=callback.phone, agent_username=actor.get_username(), reference=callback.case.reference or ""
        )
    except TelephonyError as exc:
        with transaction.atomic():
            CallbackAttempt.objects.filter(pk=attempt.pk).update(note=str(exc)[:300])
            Callback.objects.filter(pk=callback.pk, status=Callback.Status.DIALING).update(
                status=Callback.Status.OFFERED, next_attempt_at=timezone.now() + timedelta(seconds=10)
            )
        raise Conflict("The phone system could not place the call. Try again in a few seconds.", code="telephony")
    CallbackAttempt.objects.filter(pk=attempt.pk).update(provider_ref=dial.reference)
    attempt.provider_ref = dial.reference
    return attempt


@transaction.atomic
def callback_record_outcome(
    *, callback_id: int, outcome: str, actor, note: str = "", now: datetime | None = None
) -> Callback:
    """Record how the dial went. Connected: the associate works the case. No answer / voicemail: retry after
    RETRY_DELAY up to ``max_attempts`` (case back to the queue meanwhile), then give up. Wrong number: give up
    and ask the customer, in their Message Center, for the right number."""
    if outcome not in CallbackAttempt.Outcome.values:
        raise ApplicationError("Choose an outcome.", fields={"outcome": ["Not a valid choice."]})
    now = now or timezone.now()
    callback = Callback.objects.select_for_update().get(pk=callback_id)
    case = Case.objects.select_for_update(no_key=True).select_related("customer").get(pk=callback.case_id)
    if callback.status != Callback.Status.DIALING:
        raise Conflict("Dial first: there is no call in progress to record.", code="not_dialing")
    if case.assignee_id != actor.pk:
        raise NotAllowed(f"You do not hold {case.reference}.", code="not_assignee")
    attempt = callback.dial_attempts.filter(outcome="").order_by("-number").first()
    if attempt is not None:
        attempt.outcome = outcome
        attempt.outcome_at = now
        attempt.note = (note or attempt.note)[:300]
        attempt.save(update_fields=["outcome", "outcome_at", "note"])
    outcomes = CallbackAttempt.Outcome
    if outcome == outcomes.CONNECTED:
        callback.status = Callback.Status.CONNECTED
        callback.next_attempt_at = None
        if case.first_response_at is None:
            case.first_response_at = now
            case.save(update_fields=["first_response_at", "updated_at"])
    elif outcome == outcomes.WRONG_NUMBER:
        callback.status = Callback.Status.FAILED
        callback.next_attempt_at = None
        case_transition(
            case=case, new_status=Case.Status.WAITING_CUSTOMER, actor=actor, data={"why": "wrong number"}, now=now
        )
        notification_send(
            customer=case.customer,
            case=case,
            kind=Notification.Kind.CALLBACK,
            title="We could not reach you on that number",
            body=f"The number ending {callback.phone[-4:]} did not reach you. Reply on case {case.reference} "
            "with the right number or request a new call.",
        )
    elif callback.attempts < callback.max_attempts and (
        callback.expires_at is None or now + RETRY_DELAY < callback.expires_at
    ):
        callback.status = Callback.Status.RETRY_WAIT
        callback.next_attempt_at = now + RETRY_DELAY
        case_transition(
            case=case, new_status=Case.Status.NEW, actor=actor, data={"why": outcome}, public=False, now=now
        )
        notification_send(
            customer=case.customer,
            case=case,
            kind=Notification.Kind.CALLBACK,
            title="We tried to call you",
            body=f"We could not reach you ({CallbackAttempt.Outcome(outcome).label.lower()}). "
            f"We will try again at {timezone.localtime(callback.next_attempt_at):%H:%M} UTC.",
        )
    else:
        callback.status = Callback.Status.FAILED
        callback.next_attempt_at = None
        case.resolution_reason = Case.ResolutionReason.NO_RESPONSE
        case_transition(
            case=case, new_status=Case.Status.RESOLVED, actor=actor, data={"why": "callback attempts used"}, now=now
        )
        notification_send(
            customer=case.customer,
            case=case,
            kind=Notification.Kind.CALLBACK,
            title="We could not reach you",
            body=f"We called {callback.attempts} times without reaching you. Reply on case {case.reference} "
            "or request a new call whenever suits you.",
        )
    callback.save(update_fields=["status", "next_attempt_at"])
    case_event_record(
        case=case,
        type=CaseEvent.Type.CALLBACK,
        actor=actor,
        new=outcome,
        data={"attempt": callback.attempts, "status": callback.status},
        public=True,
    )
    return callback
