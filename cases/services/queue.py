"""Queues: presence, take-next, supervisor assign/reassign, release.

``case_take_next`` is the hot path (benchmarked at 1/4/16/64 concurrent associates). It is one short
transaction: lock the associate's profile row (serialises one associate's own concurrent clicks so capacity can
never be exceeded), count their open load per channel group, pick the best waiting case with
``SELECT … FOR UPDATE SKIP LOCKED LIMIT 1`` (two associates never get the same row), then the one transition
service (status + CaseEvent + SLA recompute). No other query is issued unless the case is a callback.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from cases.errors import ApplicationError, Conflict, NotAllowed
from cases.models import AgentProfile, Callback, Case, CaseEvent, Channel
from cases.services.cases import case_event_record, case_transition

# Channels that share one capacity counter (AgentProfile.capacity_for maps each channel to its limit).
CAPACITY_GROUPS: dict[str, tuple[str, ...]] = {
    "chat": (Channel.CHAT,),
    "call": (Channel.CALLBACK, Channel.PHONE),
    "social": (Channel.SOCIAL,),
    "async": (Channel.EMAIL, Channel.WEB),
}
GROUP_OF = {channel: group for group, channels in CAPACITY_GROUPS.items() for channel in channels}
HELD_STATUSES = (Case.Status.ASSIGNED, Case.Status.WAITING_CUSTOMER)


def agent_load(*, user_id: int) -> dict[str, int]:
    """Open cases an associate holds, per capacity group (one grouped query)."""
    load = dict.fromkeys(CAPACITY_GROUPS, 0)
    rows = (
        Case.objects.filter(assignee_id=user_id, status__in=HELD_STATUSES)
        .values_list("channel")
        .annotate(n=Count("id"))
        .order_by()
    )
    for channel, n in rows:
        load[GROUP_OF.get(channel, "async")] += n
    return load


def free_channels(*, profile: AgentProfile, load: dict[str, int]) -> list[str]:
    free: list[str] = []
    for group, channels in CAPACITY_GROUPS.items():
        if load.get(group, 0) < profile.capacity_for(channels[0]):
            free.extend(channels)
    return free


def _lock_profile(user) -> AgentProfile:
    try:
        return AgentProfile.objects.select_for_update(no_key=True).get(user_id=user.pk)
    except AgentProfile.DoesNotExist:
        raise NotAllowed("Only associates can take cases.", code="not_agent") from None


@transaction.atomic
def agent_set_presence(*, user, presence: str) -> AgentProfile:
    if presence not in AgentProfile.Presence.values:
        raise ApplicationError("Choose available, away or offline.", fields={"presence": ["Not a valid choice."]})
    profile = _lock_profile(user)
    if profile.presence != presence:
        profile.presence = presence
        profile.presence_changed_at = timezone.now()
        profile.save(update_fields=["presence", "presence_changed_at"])
    return profile


@transaction.atomic
def case_take_next(*, user, channel: str | None = None, now: datetime | None = None) -> Case:
    """Claim the best waiting case this associate may take: their departments, a channel with free capacity,
    priority then SLA due time then queue time. Raises ``Conflict`` when at capacity or nothing is waiting."""
    profile = _lock_profile(user)
    if profile.presence != AgentProfile.Presence.AVAILABLE:
        raise Conflict("You are not available. Set your status to Available to take cases.", code="not_available")
    load = agent_load(user_id=user.pk)
    channels = free_channels(profile=profile, load=load)
    if channel:
        if channel not in GROUP_OF:
            raise ApplicationError("Unknown channel.", fields={"channel": ["Not a valid choice."]})
        if channel not in channels:
            raise Conflict(
                f"You are at capacity for {Channel(channel).label.lower()}: finish a case before taking another.",
                code="at_capacity",
            )
        channels = [channel]
    if not channels:
        raise Conflict("You are at capacity on every channel: finish a case before taking another.", code="at_capacity")
    case = (
        Case.objects.select_for_update(skip_locked=True)
        .filter(
            status=Case.Status.NEW,
            channel__in=channels,
            department_id__in=AgentProfile.departments.through.objects.filter(agentprofile_id=profile.pk).values(
                "department_id"
            ),
        )
        .order_by("priority", "sla_due_at", "queued_at", "id")
        .first()
    )
    if case is None:
        raise Conflict("Nothing is waiting in your queues right now.", code="queue_empty")
    now = now or timezone.now()
    case.assignee = user
    case_transition(
        case=case,
        new_status=Case.Status.ASSIGNED,
        actor=user,
        data={"assignee": user.get_username(), "via": "take_next"},
        now=now,
    )
    if case.channel == Channel.CALLBACK:
        _callback_reserve(case=case, user=user, now=now)
    return case


def _callback_reserve(*, case: Case, user, now: datetime) -> None:
    """A callback case taken from the queue is offered to the associate who took it (they dial next)."""
    from cases.services.callbacks import OFFER_TIMEOUT

    Callback.objects.filter(case=case, status__in=[Callback.Status.PENDING, Callback.Status.RETRY_WAIT]).update(
        status=Callback.Status.OFFERED, offered_to=user, offered_at=now, next_attempt_at=now + OFFER_TIMEOUT
    )


@transaction.atomic
def case_assign(*, case_id: int, assignee, actor, now: datetime | None = None) -> Case:
    """Supervisors assign a waiting case or reassign a held one. The assignee must work the case's department;
    capacity is the supervisor's call (shown on the board) and is not enforced here."""
    actor_profile = AgentProfile.objects.filter(user_id=actor.pk).first()
    if actor_profile is None or not actor_profile.is_supervisor:
        raise NotAllowed("Only supervisors can assign or reassign cases.", code="not_supervisor")
    case = Case.objects.select_for_update(no_key=True).get(pk=case_id)
    target = AgentProfile.objects.filter(user_id=assignee.pk).first()
    if target is None or not (target.is_supervisor or target.departments.filter(pk=case.department_id).exists()):
        raise ApplicationError(
            f"{assignee.get_username()} does not work {case.department.name}.",
            fields={"assignee": ["Not in this department."]},
        )
    if case.assignee_id == assignee.pk and case.status in HELD_STATUSES:
        raise Conflict(f"{case.reference} is already with {assignee.get_username()}.", code="already_assigned")
    old = case.assignee.get_username() if case.assignee_id else ""
    now = now or timezone.now()
    case.assignee = assignee
    if case.status == Case.Status.NEW:
        case_transition(
            case=case, new_status=Case.Status.ASSIGNED, actor=actor, data={"assignee": assignee.get_username()}, now=now
        )
    elif case.status in HELD_STATUSES:
        case.save(update_fields=["assignee", "updated_at"])
    else:
        raise Conflict(f"{case.reference} is {case.get_status_display().lower()}; reopen it first.", code="closed")
    case_event_record(
        case=case, type=CaseEvent.Type.ASSIGNED, actor=actor, old=old, new=assignee.get_username(), public=False
    )
    return case


@transaction.atomic
def case_release(*, case_id: int, actor, reason: str = "") -> Case:
    """The holder (or a supervisor) puts a case back at the head of its queue."""
    case = Case.objects.select_for_update(no_key=True).get(pk=case_id)
    _require_holder_or_supervisor(case=case, actor=actor)
    case_transition(case=case, new_status=Case.Status.NEW, actor=actor, data={"why": reason or "released"})
    case_event_record(case=case, type=CaseEvent.Type.RELEASED, actor=actor, data={"reason": reason})
    return case


def _require_holder_or_supervisor(*, case: Case, actor) -> None:
    if case.assignee_id == actor.pk:
        return
    profile = AgentProfile.objects.filter(user_id=actor.pk).only("role").first()
    if profile is not None and profile.is_supervisor:
        return
    raise NotAllowed(f"You do not hold {case.reference}. Take it first.", code="not_assignee")
