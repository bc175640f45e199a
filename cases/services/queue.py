"""Queues: presence, take-next, supervisor assign/reassign, release.

``case_take_next`` is the hot path (benchmarked at 1/4/16/64 concurrent associates). It is one short
transaction of three statements in two round trips (BEGIN and COMMIT included), written as SQL built once at
import:

1. sent together (``rawrows.together``: one round trip, with the transaction's BEGIN):
   a. lock the associate's profile row (``FOR NO KEY UPDATE``: serialises one associate's own concurrent clicks so
      capacity can never be exceeded) and read presence and capacities;
   b. run by the server after (a) has been granted, so its snapshot sees every claim a concurrent click of theirs
      committed: their presence and capacities, open load per capacity group, the channels with a free slot, and
      the best waiting case with ``FOR UPDATE SKIP LOCKED LIMIT 1`` (two associates never get the same row) with
      what the SLA recompute reads for it (matching policy, department, hours, holidays, recorded points, the
      callback row: ``cases.services.sla.sla_inputs_sql``);
2. the one transition service: one UPDATE of the status, assignee and recomputed due times, with the
   STATUS_CHANGED event in the same statement, and — it is the claim's last statement (``last=True``) and the
   transaction is take-next's own — the COMMIT in the same round trip (``rawrows.update_then_insert``).

No other query is issued unless the case is a callback (its offer, sent before the transition) or a target was
met late (its breach record; the COMMIT then goes on its own after it).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
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
).format(held=rawrows.sql_in(HELD_STATUSES))


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
    now = timezone.now()
    profile.last_seen_at = now  # they are here: it is their click
    if profile.presence != presence:
        profile.presence = presence
        profile.presence_changed_at = now
    profile.presence_note = ""  # their own choice now: the system's reason no longer applies
    profile.save(update_fields=["presence", "presence_changed_at", "presence_note", "last_seen_at"])
    return profile


def presence_idle() -> timedelta:
    """How long an "available" associate may go without any request before the sweep sets them away: the setting,
    but never less than three of the staff session's last-seen stamps (an open board or workspace polls, and each
    session stamps at most once every ``TOUCH_EVERY_SECONDS``)."""
    floor = 3 * settings.RH_STAFF_SESSION["TOUCH_EVERY_SECONDS"]
    return timedelta(seconds=max(settings.RH_PRESENCE_IDLE_SECONDS, floor))


def agent_seen(*, user_id: int, now: datetime | None = None) -> None:
    """A request from the associate's staff session: stamp their last-seen time (one UPDATE, autocommit; nothing
    for a staff user without a profile). Called with the session's own last-seen stamp, so at most once a minute
    per session."""
    AgentProfile.objects.filter(user_id=user_id).update(last_seen_at=now or timezone.now())


def agent_presence_sweep(*, now: datetime | None = None) -> int:
    """Presence follows the associate: everyone "available" with no request from any of their sessions for
    ``presence_idle()`` (the tab closed, the laptop asleep, the browser gone without signing out) goes away, with
    the reason on their board until they choose a presence again. Away and offline are left as they are.

    One UPDATE (autocommit) whose condition PostgreSQL checks again on a row another transaction changed meanwhile
    (READ COMMITTED): an associate who clicks Available, signs in or sends a request at that moment keeps their
    fresh stamp and stays available; a row held by a take-next is waited for, not skipped. Running it twice, or
    on two workers at once, sets nobody away twice. Returns how many were set away."""
    now = now or timezone.now()
    idle = presence_idle()
    minutes = max(1, round(idle.total_seconds() / 60))
    return AgentProfile.objects.filter(presence=AgentProfile.Presence.AVAILABLE, last_seen_at__lt=now - idle).update(
        presence=AgentProfile.Presence.AWAY,
        presence_changed_at=now,
        presence_note=f"no page of the portal was open for {minutes} min",
    )


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
# The capacity column of each group (``AgentProfile.capacity_for``).
_CAPACITY_COLUMN = {
    "chat": "capacity_chat",
    "call": "capacity_call",
    "social": "capacity_social",
    "async": "capacity_async",
}
# One statement, sent in the same round trip as the profile lock and run by the server right after it (so its
# snapshot sees every claim a concurrent click of the same associate committed): the associate's presence and
# capacities (read here too, so nothing of the lock's answer is needed to send it), their open load per capacity
# group (``agent_load``), the channels with a free slot among those asked (``free_channels``), and the best waiting
# case of their departments on one of them — priority, SLA due time (NULLs last), queue time, id: the order of the
# partial index ``case_take_next_order`` — locked with SKIP LOCKED, with what the SLA recompute reads for it
# (``sla_inputs_sql``). Nothing is picked unless the associate is available.
_PICK_SQL = f"""
WITH me AS (
    SELECT id, {", ".join(_CAPACITY_COLUMN.values())} FROM {AgentProfile._meta.db_table}
    WHERE user_id = %s AND presence = '{AgentProfile.Presence.AVAILABLE}'
), held AS (
    SELECT channel, count(*) AS n FROM {Case._meta.db_table}
    WHERE assignee_id = %s AND status IN ({rawrows.sql_in(HELD_STATUSES)})
    GROUP BY channel
), capacity_group (channel, name) AS (
    VALUES {", ".join(f"('{channel}', '{group}')" for channel, group in GROUP_OF.items())}
), slots (name, n) AS (
    SELECT s.name, s.n FROM me CROSS JOIN LATERAL (
        VALUES {", ".join(f"('{group}', me.{_CAPACITY_COLUMN[group]})" for group in CAPACITY_GROUPS)}
    ) AS s (name, n)
), used AS (
    SELECT coalesce(g.name, 'async') AS name, sum(h.n) AS n FROM held h LEFT JOIN capacity_group g USING (channel)
    GROUP BY 1
), free AS (
    SELECT g.channel FROM capacity_group g JOIN slots s USING (name) LEFT JOIN used u USING (name)
    WHERE coalesce(u.n, 0) < s.n AND (%s::text IS NULL OR g.channel = %s::text)
), pick AS (
    SELECT * FROM {Case._meta.db_table}
    WHERE status = '{Case.Status.NEW}' AND channel = ANY(ARRAY(SELECT channel FROM free))
      AND department_id IN (
          SELECT department_id FROM {AgentProfile.departments.through._meta.db_table}
          WHERE agentprofile_id = (SELECT id FROM me)
      )
    ORDER BY priority, sla_due_at, queued_at, id
    FOR UPDATE SKIP LOCKED
    LIMIT 1
)
SELECT {_CASE_ROW.select}, {_SLA_SELECT} FROM pick c {_SLA_JOINS}
"""


_PRESENCE_AT = _PROFILE_FIELDS.index("presence")


def _lock_and_pick(*, db, user, channel: str | None) -> tuple[tuple | None, Case | None]:
    """PostgreSQL: lock the associate's profile row (presence, capacities) and pick within capacity — two
    statements in one round trip (``rawrows.together``), the pick run by the server after the lock is granted.
    Returns the profile's row (``_PROFILE_FIELDS``; None: not an associate) and the case picked (None: none)."""
    user_id = user.pk
    locked, picked = rawrows.together(
        [(_PROFILE_LOCK_SQL, [user_id]), (_PICK_SQL, [user_id, user_id, channel, channel])], connection=db
    )
    if not locked:
        return None, None
    if not picked:
        return locked[0], None
    row = picked[0]
    case = _CASE_ROW.load(row[: _CASE_ROW.width], connection=db)
    sla_inputs_attach(case=case, values=row[_CASE_ROW.width : _CASE_ROW.width + SLA_INPUTS_WIDTH], connection=db)
    return locked[0], case


def _profile_of(db, row: tuple) -> AgentProfile:
    """The profile instance of the locked row (presence and capacities; the other fields deferred)."""
    return AgentProfile.from_db(db.alias, _PROFILE_FIELDS, row)


@transaction.atomic
def case_take_next(*, user, channel: str | None = None, now: datetime | None = None) -> Case:
    """Claim the best waiting case this associate may take: their departments, a channel with free capacity,
    priority then SLA due time then queue time. Raises ``Conflict`` when at capacity or nothing is waiting."""
    if channel and channel not in GROUP_OF:
        raise ApplicationError("Unknown channel.", fields={"channel": ["Not a valid choice."]})
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql":
        locked, case = _lock_and_pick(db=db, user=user, channel=channel or None)
        if locked is None:
            raise NotAllowed("Only associates can take cases.", code="not_agent")
        if case is None or locked[_PRESENCE_AT] != AgentProfile.Presence.AVAILABLE:
            profile = _profile_of(db, locked)
            _require_available(profile)
            # say why: at capacity (the load is read again, still under the profile lock) or empty
            _channels_with_capacity(profile=profile, user=user, channel=channel)
    else:
        # SQLite (the embedded setup): one writer at a time; the lock, the load and the ORM pick are separate.
        profile = _lock_profile(user)
        _require_available(profile)
        case = _pick_orm(profile=profile, channels=_channels_with_capacity(profile=profile, user=user, channel=channel))
    if case is None:
        raise Conflict("Nothing is waiting in your queues right now.", code="queue_empty")
    now = now or timezone.now()
    if case.channel == Channel.CALLBACK:
        _callback_reserve(case=case, user=user, now=now)
    case.assignee = user
    case_transition(  # the last statement of the claim: its COMMIT may travel with it (``last``)
        case=case,
        new_status=Case.Status.ASSIGNED,
        actor=user,
        data={"assignee": user.get_username(), "via": "take_next"},
        now=now,
        changed=("assignee",),
        last=True,
    )
    return case


def _require_available(profile: AgentProfile) -> None:
    if profile.presence != AgentProfile.Presence.AVAILABLE:
        raise Conflict("You are not available. Set your status to Available to take cases.", code="not_available")


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


_RESERVABLE = (Callback.Status.PENDING, Callback.Status.RETRY_WAIT)
_RESERVABLE_SQL = rawrows.sql_in(_RESERVABLE)
_CALLBACK_RESERVE_SQL = (
    f"UPDATE {Callback._meta.db_table} SET status = '{Callback.Status.OFFERED}', offered_to_id = %s, offered_at = %s,"
    f" next_attempt_at = %s WHERE case_id = %s AND status IN ({_RESERVABLE_SQL})"
)


def _callback_reserve(*, case: Case, user, now: datetime) -> None:
    """A callback case taken from the queue is offered to the associate who took it (they dial next)."""
    from cases.services.callbacks import OFFER_TIMEOUT

    if connection.vendor == "postgresql":  # the queryset's UPDATE below, written out and prepared
        with rawrows.cursor() as cursor:
            cursor.execute(_CALLBACK_RESERVE_SQL, [user.pk, now, now + OFFER_TIMEOUT, case.pk])
        return
    Callback.objects.filter(case=case, status__in=_RESERVABLE).update(
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
