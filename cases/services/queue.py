"""Queues: presence, take-next, supervisor assign/reassign, release.

``case_take_next`` is the hot path (benchmarked at 1/4/16/64 concurrent associates). It is one short
transaction of four statements plus the commit, written as SQL built once at import:

1. lock the associate's profile row (``FOR NO KEY UPDATE``: serialises one associate's own concurrent clicks so
   capacity can never be exceeded) and read presence and capacities;
2. count their open load per channel (a statement of its own, so its snapshot is taken after the lock and sees
   every claim a concurrent click of theirs committed);
3. pick the best waiting case with ``FOR UPDATE SKIP LOCKED LIMIT 1`` (two associates never get the same row) and,
   in the same statement, what the SLA recompute reads for it (matching policy, department, hours, holidays,
   recorded points: ``cases.services.sla.sla_inputs_sql``);
4. the one transition service: one UPDATE of the status, assignee and recomputed due times, then the
   STATUS_CHANGED event.

No other query is issued unless the case is a callback (its offer) or a target was met late (its breach record).
"""

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from cases import rawrows
from cases.errors import ApplicationError, Conflict, NotAllowed
from cases.models import AgentProfile, Callback, Case, CaseEvent, Channel
from cases.rawrows import RowLoader
from cases.services.cases import case_event_record, case_transition
from cases.services.sla import SLA_INPUTS_WIDTH, sla_inputs_attach, sla_inputs_sql

# Channels that share one capacity counter (AgentProfile.capacity_for maps each channel to its limit).
CAPACITY_GROUPS: dict[str, tuple[str, ...]] = {
    "chat": (Channel.CHAT,),
    "call": (Channel.CALLBACK, Channel.PHONE),
    "social": (Channel.SOCIAL,),
    "async": (Channel.EMAIL, Channel.WEB),
}
GROUP_OF = {channel: group for group, channels in CAPACITY_GROUPS.items() for channel in channels}
HELD_STATUSES = (Case.Status.ASSIGNED, Case.Status.WAITING_CUSTOMER)


_LOAD_SQL = (
    f"SELECT channel, count(*) FROM {Case._meta.db_table} WHERE assignee_id = %s AND status IN ({{held}}) "
    "GROUP BY channel"
).format(held=", ".join(f"'{status}'" for status in HELD_STATUSES))


def agent_load(*, user_id: int) -> dict[str, int]:
    """Open cases an associate holds, per capacity group (one grouped query on the (assignee, status) index)."""
    load = dict.fromkeys(CAPACITY_GROUPS, 0)
    with rawrows.cursor() as cursor:
        cursor.execute(_LOAD_SQL, [user_id])
        rows = cursor.fetchall()
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


# In model field order (``Model.from_db`` with deferred fields expects the values in that order).
_PROFILE_FIELDS = [
    f.attname
    for f in AgentProfile._meta.concrete_fields
    if f.attname in {"id", "presence", "capacity_chat", "capacity_call", "capacity_social", "capacity_async"}
]
_PROFILE_LOCK_SQL = (
    f"SELECT {', '.join(_PROFILE_FIELDS)} FROM {AgentProfile._meta.db_table} WHERE user_id = %s FOR NO KEY UPDATE"
)
_CASE_ROW = RowLoader(Case, "c")
_SLA_SELECT, _SLA_JOINS = sla_inputs_sql("c")
ALL_CHANNELS = [c for channels in CAPACITY_GROUPS.values() for c in channels]
# One statement, run after the profile lock (so its snapshot sees every claim a concurrent click of the same
# associate committed): the associate's open load per capacity group (``agent_load``), the channels with a free
# slot among those asked (``free_channels``), and the best waiting case of their departments on one of them —
# priority, SLA due time (NULLs last), queue time, id: the order of the partial index ``case_take_next_order`` —
# locked with SKIP LOCKED, with what the SLA recompute reads for it (``sla_inputs_sql``).
_PICK_SQL = f"""
WITH held AS (
    SELECT channel, count(*) AS n FROM {Case._meta.db_table}
    WHERE assignee_id = %(user)s AND status IN ({", ".join(f"'{status}'" for status in HELD_STATUSES)})
    GROUP BY channel
), capacity_group (channel, name) AS (
    VALUES {", ".join(f"('{channel}', '{group}')" for channel, group in GROUP_OF.items())}
), slots (name, n) AS (
    VALUES {", ".join(f"('{group}', %(cap_{group})s::integer)" for group in CAPACITY_GROUPS)}
), used AS (
    SELECT coalesce(g.name, 'async') AS name, sum(h.n) AS n FROM held h LEFT JOIN capacity_group g USING (channel)
    GROUP BY 1
), free AS (
    SELECT g.channel FROM capacity_group g JOIN slots s USING (name) LEFT JOIN used u USING (name)
    WHERE coalesce(u.n, 0) < s.n AND g.channel = ANY(%(channels)s)
), pick AS (
    SELECT * FROM {Case._meta.db_table}
    WHERE status = '{Case.Status.NEW}' AND channel = ANY(ARRAY(SELECT channel FROM free))
      AND department_id IN (
          SELECT department_id FROM {AgentProfile.departments.through._meta.db_table} WHERE agentprofile_id = %(profile)s
      )
    ORDER BY priority, sla_due_at, queued_at, id
    FOR UPDATE SKIP LOCKED
    LIMIT 1
)
SELECT {_CASE_ROW.select}, {_SLA_SELECT} FROM pick c {_SLA_JOINS}
"""


def _lock_profile_for_take(user) -> AgentProfile:
    """Lock the associate's profile row and read what take-next needs (presence, capacities) in one query."""
    if connection.vendor != "postgresql":
        return _lock_profile(user)
    with rawrows.cursor() as cursor:
        cursor.execute(_PROFILE_LOCK_SQL, [user.pk])
        row = cursor.fetchone()
    if row is None:
        raise NotAllowed("Only associates can take cases.", code="not_agent")
    return AgentProfile.from_db(connection.alias, _PROFILE_FIELDS, row)


@transaction.atomic
def case_take_next(*, user, channel: str | None = None, now: datetime | None = None) -> Case:
    """Claim the best waiting case this associate may take: their departments, a channel with free capacity,
    priority then SLA due time then queue time. Raises ``Conflict`` when at capacity or nothing is waiting."""
    profile = _lock_profile_for_take(user)
    if profile.presence != AgentProfile.Presence.AVAILABLE:
        raise Conflict("You are not available. Set your status to Available to take cases.", code="not_available")
    if channel and channel not in GROUP_OF:
        raise ApplicationError("Unknown channel.", fields={"channel": ["Not a valid choice."]})
    if connection.vendor == "postgresql":
        case = _pick_within_capacity(profile=profile, user=user, asked=[channel] if channel else ALL_CHANNELS)
        if case is None:  # say why: at capacity (the load is read again, still under the profile lock) or empty
            _channels_with_capacity(profile=profile, user=user, channel=channel)
    else:
        # SQLite (the embedded setup): one writer at a time; the load and the ORM pick are separate queries.
        case = _pick_orm(profile=profile, channels=_channels_with_capacity(profile=profile, user=user, channel=channel))
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
        changed=("assignee",),
    )
    if case.channel == Channel.CALLBACK:
        _callback_reserve(case=case, user=user, now=now)
    return case


def _channels_with_capacity(*, profile: AgentProfile, user, channel: str | None) -> list[str]:
    """The channels the associate has a free slot on (only ``channel`` if asked); ``Conflict`` when none."""
    channels = free_channels(profile=profile, load=agent_load(user_id=user.pk))
    if channel:
        if channel not in channels:
            raise Conflict(
                f"You are at capacity for {Channel(channel).label.lower()}: finish a case before taking another.",
                code="at_capacity",
            )
        return [channel]
    if not channels:
        raise Conflict("You are at capacity on every channel: finish a case before taking another.", code="at_capacity")
    return channels


def _pick_within_capacity(*, profile: AgentProfile, user, asked: list[str]) -> Case | None:
    """PostgreSQL: load, free channels and the locked pick in one statement; the case has its SLA inputs."""
    params = {"user": user.pk, "profile": profile.pk, "channels": asked}
    params.update({f"cap_{group}": profile.capacity_for(channels[0]) for group, channels in CAPACITY_GROUPS.items()})
    with rawrows.cursor() as cursor:
        cursor.execute(_PICK_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    case = _CASE_ROW.load(row[: _CASE_ROW.width])
    sla_inputs_attach(case=case, values=row[_CASE_ROW.width : _CASE_ROW.width + SLA_INPUTS_WIDTH])
    return case


def _pick_orm(*, profile: AgentProfile, channels: list[str]) -> Case | None:
    return (
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
