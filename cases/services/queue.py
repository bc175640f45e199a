"""Queues: presence, take-next, supervisor assign/reassign, release.

``case_take_next`` is the hot path (benchmarked at 1/4/16/64 concurrent associates). The claim is one short
transaction of two statements, sent in ONE round trip with its BEGIN and COMMIT (``rawrows.together``), written
as SQL built once at import:

1. lock the associate's profile row (``FOR NO KEY UPDATE``: serialises one associate's own concurrent clicks, and
   a click with the callback dispatcher's offer to them, so capacity can never be exceeded) and read presence and
   capacities;
2. run by the server after (1) has been granted, so its snapshot sees every claim a concurrent click of theirs
   committed: their open load per capacity group, the channels with a free slot, the best waiting case with
   ``FOR UPDATE SKIP LOCKED LIMIT 1`` (two associates never get the same row), and — data-modifying CTEs of the
   same statement — its transition NEW → ASSIGNED (status, assignee), a callback's offer to the taker and the
   STATUS_CHANGED event; it returns the case with what the SLA recompute reads for it
   (``cases.services.sla.sla_inputs_sql``).

The picked row is locked only while the server runs that statement and commits: no client work happens inside the
transaction. The SLA recompute runs after the commit (``_sla_settle``): NEW and ASSIGNED are the same state of
every SLA clock, so the due times stored while the case waited stand and nothing more is sent — unless an input
changed since (a policy edit) or the times were never the recompute's (imported data); then one compare-and-set
UPDATE writes them, or, when the row changed meanwhile or a target met late is to be recorded, the case is locked
again and recomputed as it then is. A worker killed between the two leaves a whole claim with its queue-time due
times, which the next recompute of the case (a reply, a transition, the SLA sweep at its stored check time)
replaces.
"""

import json
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.utils import timezone

from cases import rawrows
from cases.errors import ApplicationError, Conflict, NotAllowed
from cases.live import CASE, case_news_publish
from cases.models import AgentProfile, Callback, Case, CaseEvent, Channel
from cases.rawrows import RowLoader
from cases.services.cases import case_event_record, case_transition
from cases.services.sla import (
    SLA_FIELDS,
    SLA_INPUTS_WIDTH,
    sla_inputs_attach,
    sla_inputs_sql,
    sla_prepare,
    sla_recompute,
)

log = logging.getLogger(__name__)

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
# snapshot sees every claim a concurrent click of the same associate committed), that makes the whole claim:
# the associate's presence and capacities (read here too, so nothing of the lock's answer is needed to send it),
# their open load per capacity group (``agent_load``), the channels with a free slot among those asked
# (``free_channels``), the best waiting case of their departments on one of them — priority, SLA due time (NULLs
# last), queue time, id: the order of the partial index ``case_take_next_order`` — locked with SKIP LOCKED; then
# that case's transition to ASSIGNED (status, assignee, updated_at: ``case_transition``'s UPDATE for NEW →
# ASSIGNED), a callback's offer to the taker (``_callback_reserve``) and the STATUS_CHANGED event, each a
# data-modifying CTE of the same statement; it returns the case as claimed with what the SLA recompute reads for it
# (``sla_inputs_sql``; the callback row as it was before the offer). Nothing is picked unless the associate is
# available; when nothing is, its one row says why from the same snapshot, under the same lock: the channels with a
# free slot (none: at capacity; some: nothing waiting on them).
# The callback states a claim may offer to the taker (the claim's ``offered`` CTE; ``_callback_reserve`` on SQLite).
_RESERVABLE = (Callback.Status.PENDING, Callback.Status.RETRY_WAIT)
_CLAIM_SQL = f"""
WITH me AS (
    SELECT id, {", ".join(_CAPACITY_COLUMN.values())} FROM {AgentProfile._meta.db_table}
    WHERE user_id = %(user)s AND presence = '{AgentProfile.Presence.AVAILABLE}'
), held AS (
    SELECT channel, count(*) AS n FROM {Case._meta.db_table}
    WHERE assignee_id = %(user)s AND status IN ({rawrows.sql_in(HELD_STATUSES)})
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
    WHERE coalesce(u.n, 0) < s.n AND (%(channel)s::text IS NULL OR g.channel = %(channel)s::text)
), pick AS (
    SELECT id FROM {Case._meta.db_table}
    WHERE status = '{Case.Status.NEW}' AND channel = ANY(ARRAY(SELECT channel FROM free))
      AND department_id IN (
          SELECT department_id FROM {AgentProfile.departments.through._meta.db_table}
          WHERE agentprofile_id = (SELECT id FROM me)
      )
    ORDER BY priority, sla_due_at, queued_at, id
    FOR UPDATE SKIP LOCKED
    LIMIT 1
), claimed AS (
    UPDATE {Case._meta.db_table} c
    SET status = '{Case.Status.ASSIGNED}', assignee_id = %(user)s, updated_at = %(now)s
    FROM pick WHERE c.id = pick.id
    RETURNING c.*
), offered AS (
    UPDATE {Callback._meta.db_table} cb
    SET status = '{Callback.Status.OFFERED}', offered_to_id = %(user)s, offered_at = %(now)s,
        next_attempt_at = %(offer_until)s
    FROM claimed
    WHERE cb.case_id = claimed.id AND claimed.channel = '{Channel.CALLBACK}'
      AND cb.status IN ({rawrows.sql_in(_RESERVABLE)})
    RETURNING cb.case_id
), event AS (
    INSERT INTO {CaseEvent._meta.db_table}
        (case_id, type, actor_id, old_value, new_value, data, is_public, created_at)
    SELECT id, '{CaseEvent.Type.STATUS_CHANGED}', %(user)s, '{Case.Status.NEW}', '{Case.Status.ASSIGNED}',
        %(data)s::jsonb, true, %(now)s
    FROM claimed
    RETURNING id
)
SELECT {_CASE_ROW.select}, {_SLA_SELECT}, EXISTS (SELECT FROM offered), NULL::text[] FROM claimed c {_SLA_JOINS}
UNION ALL
SELECT {", ".join(["NULL"] * (_CASE_ROW.width + SLA_INPUTS_WIDTH))}, false, ARRAY(SELECT channel FROM free)
WHERE NOT EXISTS (SELECT FROM claimed)
"""


def _claim(*, db, user, channel: str | None, now: datetime) -> Case:
    """PostgreSQL: lock the associate's profile row (presence, capacities), then claim within capacity
    (``_CLAIM_SQL``) — two statements in one round trip with the transaction's BEGIN and, when the transaction is
    take-next's own, its COMMIT (``rawrows.together``). Returns the case as claimed; raises ``NotAllowed`` (not an
    associate) or ``Conflict`` (not available, at capacity, nothing waiting)."""
    from cases.services.callbacks import OFFER_TIMEOUT

    user_id = user.pk
    params = {
        "user": user_id,
        "channel": channel,
        "now": now,
        "offer_until": now + OFFER_TIMEOUT,
        "data": json.dumps({"assignee": user.get_username(), "via": "take_next"}),
    }
    locked, claimed = rawrows.together(
        [(_PROFILE_LOCK_SQL, [user_id]), (_CLAIM_SQL, params)], connection=db, commit=True
    )
    if not locked:
        raise NotAllowed("Only associates can take cases.", code="not_agent")
    (row,) = claimed
    if row[0] is None:  # nothing claimed: say why (the channels with a free slot, as the claim saw them)
        _require_available(_profile_of(db, locked[0]))
        _refuse(channel=channel, free=row[-1])
    width = _CASE_ROW.width
    case = _CASE_ROW.load(row[:width], connection=db)
    case.assignee = user
    sla_inputs_attach(case=case, values=row[width : width + SLA_INPUTS_WIDTH], connection=db)
    offered = row[width + SLA_INPUTS_WIDTH]
    callback = case._sla_inputs.callback
    if offered and callback is not None:  # the SLA inputs read the callback row as it was before the offer
        callback["status"] = Callback.Status.OFFERED
    return case


# The claim's due times written when they differ from the stored ones (``_sla_settle``): a compare-and-set on
# everything the recompute read from the row — the case as the claim left it (status, assignee and updated_at it
# wrote; channel, priority, department, answer and resolution times) and the stored SLA fields it compared
# against. A writer of the row in between (a transition, a message's recompute, the sweep raising the priority, a
# transfer, a raw status change) makes it match no row.
_SETTLE_SQL = (
    f"UPDATE {Case._meta.db_table} SET "
    + ", ".join(f"{name} = %s" for name in SLA_FIELDS)
    + f" WHERE id = %s AND status = '{Case.Status.ASSIGNED}' AND assignee_id = %s AND updated_at = %s"
    " AND channel = %s AND priority = %s AND department_id = %s"
    " AND first_response_at IS NOT DISTINCT FROM %s AND resolved_at IS NOT DISTINCT FROM %s AND "
    + " AND ".join(f"{name} IS NOT DISTINCT FROM %s" for name in SLA_FIELDS)
    + " RETURNING id"
)


def _sla_settle(*, case: Case, stored: tuple, now: datetime) -> None:
    """The claim's SLA recompute, after its commit. NEW and ASSIGNED are the same state of every SLA clock (open,
    not paused), so the due times stored while the case waited (``stored``) are what the recompute gives — unless an
    input changed since the last recompute (a policy or calendar edit), the stored times were not written by the
    recompute (imported data; ``generate_load`` stores the recompute's), or a target met late is not recorded yet.
    Only then is anything written: the new due times by one compare-and-set UPDATE (``_SETTLE_SQL``; with its BEGIN
    and COMMIT in one round trip when the transaction is its own); if a target was met late, or the row changed since
    the claim, the case is locked again and recomputed as it now is (``sla_recompute``, which records the breach
    once), in a transaction (a savepoint inside a caller's) of its own.

    The claim is committed by then: a database error here is logged, not raised, and leaves the case with the due
    times it had in the queue until its next recompute (a reply, a transition, the SLA sweep at its stored check
    time) — as a worker killed at this point would. Known limit: the compare-and-set sees the case row only; an
    input outside it (a policy, a calendar) changed after the claim read it, and the case recomputed by someone
    else back to exactly the stored times in those few milliseconds, would let the claim's times through."""
    import psycopg  # this path runs on PostgreSQL only

    update = sla_prepare(case=case, now=now)  # in memory: the computed due times on the instance
    computed = tuple(getattr(case, name) for name in SLA_FIELDS)
    if not update.late and computed == stored:
        return
    try:
        if not update.late:
            params = [
                *computed,
                case.pk,
                case.assignee_id,
                case.updated_at,
                case.channel,
                case.priority,
                case.department_id,
                case.first_response_at,
                case.resolved_at,
                *stored,
            ]
            with transaction.atomic():
                (matched,) = rawrows.together([(_SETTLE_SQL, params)], commit=True)
            if matched:
                return
        with transaction.atomic():
            current = Case.objects.select_for_update(no_key=True).get(pk=case.pk)
            sla_recompute(case=current, now=now)
    except (DatabaseError, psycopg.Error):  # Django's, and psycopg's own from a batch (``rawrows.together``)
        log.exception("take-next: %s is claimed; its due times are left to its next recompute", case.reference)
        return
    for name in SLA_FIELDS:
        setattr(case, name, getattr(current, name))


def _profile_of(db, row: tuple) -> AgentProfile:
    """The profile instance of the locked row (presence and capacities; the other fields deferred)."""
    return AgentProfile.from_db(db.alias, _PROFILE_FIELDS, row)


def case_take_next(*, user, channel: str | None = None, now: datetime | None = None) -> Case:
    """Claim the best waiting case this associate may take: their departments, a channel with free capacity,
    priority then SLA due time then queue time. Raises ``Conflict`` when at capacity or nothing is waiting."""
    if channel and channel not in GROUP_OF:
        raise ApplicationError("Unknown channel.", fields={"channel": ["Not a valid choice."]})
    now = now or timezone.now()
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        return _take_next_orm(user=user, channel=channel, now=now)
    with transaction.atomic():
        case = _claim(db=db, user=user, channel=channel or None, now=now)
        case_news_publish(case_id=case.pk, kind=CASE)  # the customer's live status line, after commit
    _sla_settle(case=case, stored=tuple(getattr(case, name) for name in SLA_FIELDS), now=now)
    return case


@transaction.atomic
def _take_next_orm(*, user, channel: str | None, now: datetime) -> Case:
    """SQLite (the embedded setup): one writer at a time; the lock, the load, the ORM pick and the transition are
    separate statements."""
    profile = _lock_profile(user)
    _require_available(profile)
    case = _pick_orm(profile=profile, channels=_channels_with_capacity(profile=profile, user=user, channel=channel))
    if case is None:
        raise Conflict("Nothing is waiting in your queues right now.", code="queue_empty")
    if case.channel == Channel.CALLBACK:
        _callback_reserve(case=case, user=user, now=now)
    case.assignee = user
    case_transition(
        case=case,
        new_status=Case.Status.ASSIGNED,
        actor=user,
        data={"assignee": user.get_username(), "via": "take_next"},
        now=now,
        changed=("assignee",),
    )
    return case


def _refuse(*, channel: str | None, free: list[str]) -> None:
    """Why an available associate got nothing: ``free`` are the channels (among those asked) with a free slot."""
    if not free:
        if channel:
            raise Conflict(
                f"You are at capacity for {Channel(channel).label.lower()}: finish a case before taking another.",
                code="at_capacity",
            )
        raise Conflict("You are at capacity on every channel: finish a case before taking another.", code="at_capacity")
    raise Conflict("Nothing is waiting in your queues right now.", code="queue_empty")


def _require_available(profile: AgentProfile) -> None:
    if profile.presence != AgentProfile.Presence.AVAILABLE:
        raise Conflict("You are not available. Set your status to Available to take cases.", code="not_available")


def _channels_with_capacity(*, profile: AgentProfile, user, channel: str | None) -> list[str]:
    """The channels the associate has a free slot on (only ``channel`` if asked); ``Conflict`` when none."""
    channels = free_channels(profile=profile, load=agent_load(user_id=user.pk))
    if channel:
        channels = [channel] if channel in channels else []
    if not channels:
        _refuse(channel=channel, free=[])
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


def _callback_reserve(*, case: Case, user, now: datetime) -> None:
    """A callback case taken from the queue is offered to the associate who took it (they dial next). On
    PostgreSQL this is the ``offered`` CTE of the claim statement."""
    from cases.services.callbacks import OFFER_TIMEOUT

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
