"""SLA due times, the pause clock and the beat sweep that records warnings and breaches exactly once.

``sla_recompute`` runs in the same transaction as every write that moves a due time (create, reply, status,
priority, department): it matches the policy, counts paused time, stores the due times and ``sla_next_check_at``
(the next warning or breach point not yet recorded; the sweep's partial index ``case_sla_sweep``). One exception:
take-next's claim (NEW → ASSIGNED, the same state of every clock) commits first and then writes, only if they
moved, the due times ``sla_prepare`` computed (``cases.services.queue._sla_settle``).

``sla_sweep`` (Celery beat, every few seconds) locks due cases with ``skip_locked``, records every warning and
breach point that has passed (``SlaRecord``, unique per case/target/level/due: a second record is impossible),
acts on breaches (raise priority, flag for the supervisor, re-route) and advances ``sla_next_check_at``.
A sweep after an outage finds every missed point because points stay due until they are recorded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from cases import rawrows
from cases.calendars import Calendar, business_add, business_between, calendar_for, is_open, next_opening
from cases.models import (
    BusinessHours,
    Callback,
    Case,
    CaseEvent,
    Channel,
    Department,
    Holiday,
    Message,
    Notification,
    Priority,
    SlaPolicy,
    SlaRecord,
    SlaTarget,
)
from cases.rawrows import RowLoader
from cases.services.cases import case_event_record
from cases.services.notifications import notification_send

log = logging.getLogger(__name__)

SWEEP_BATCH_SIZE = 200
SWEEP_MAX_BATCHES = 50
RING_RUNNING_STATUSES = ("pending", "offered", "retry_wait")


@dataclass(frozen=True)
class Point:
    """A warning or breach point of one target. ``running``: the target is still unmet (the sweep acts)."""

    target: str
    level: str
    at: datetime
    due: datetime
    running: bool
    start: datetime  # when this target's clock started (a cycle of next reply starts at the customer's message)

    @property
    def key(self) -> tuple[str, str, datetime]:
        return (self.target, self.level, self.due)


class Recorded:
    """The case's recorded (target, level, due) triples. A point is covered when its own key is recorded, or when
    the same target and level was already recorded for this clock (a due at or after its start): a due time that
    moved (priority raised, pause counted) does not produce a second warning or breach of the same target."""

    def __init__(self, rows=()):
        self.rows: set[tuple[str, str, datetime]] = set(rows)

    def add(self, point: Point) -> None:
        self.rows.add(point.key)

    def covers(self, point: Point) -> bool:
        return any(t == point.target and lv == point.level and due >= point.start for t, lv, due in self.rows)


@dataclass
class Plan:
    policy: SlaPolicy | None
    calendar: Calendar | None
    fields: dict = field(default_factory=dict)
    points: list[Point] = field(default_factory=list)


# --- policy and calendar -----------------------------------------------------------------------------------


def sla_policy_for(*, case: Case) -> SlaPolicy:
    """The first active policy matching the case's channel, priority and department (by ``order``); the built-in
    default (unsaved, ``pk=None``) when no stored policy matches, so a case always has a clock."""
    policy = SlaPolicy.objects.matching(
        channel=case.channel, priority=case.priority, department_id=case.department_id
    ).first()
    return policy if policy is not None else _builtin_policy(case)


def _builtin_policy(case: Case) -> SlaPolicy:
    from cases.sla_defaults import builtin_policy_for

    return builtin_policy_for(channel=case.channel, priority=case.priority)


def sla_calendar_for(*, case: Case, policy: SlaPolicy | None, inputs: SlaInputs | None = None) -> Calendar:
    always = policy is None or policy.clock == SlaPolicy.Clock.ALWAYS
    if inputs is not None:
        return calendar_for(case.department, always_open=always, hours=inputs.hours, holidays=inputs.holidays)
    return calendar_for(case.department, always_open=always)


# --- the same inputs fetched together with the case (take-next: one statement instead of four reads) ------------


UNREAD = object()  # an input ``SlaInputs`` does not carry: ``_plan`` reads it


@dataclass(frozen=True)
class SlaInputs:
    """Everything ``sla_recompute`` reads about a case besides its messages and callback: the matching stored
    policy (None: the built-in default), the department's weekly hours and holidays, the recorded points. Fetched
    in the statement that locks the case (``sla_inputs_sql``) and consumed by the next recompute of that instance,
    only while the case still has the channel, priority and department they were matched for (``key``)."""

    key: tuple[str, int, int]
    policy: SlaPolicy | None
    hours: list[tuple[int, time, time]]
    holidays: list[date]
    recorded: list[tuple[str, str, datetime]]
    # The case's Call Me Now row as ``_callback_of`` reads it (None: not a callback, or no row).
    callback: dict | None = None
    # When the customer's oldest unanswered message was written (``_awaiting_reply_since``; None: nothing waits),
    # when the caller knows it without a read (``cases.loadgen``, which wrote the messages); UNREAD: ``_plan`` reads it.
    awaiting_reply_since: datetime | object | None = UNREAD


_POLICY_ROW = RowLoader(SlaPolicy, "sla_p")
_DEPARTMENT_ROW = RowLoader(Department, "sla_d")


def sla_inputs_sql(alias: str) -> tuple[str, str]:
    """(select list, joins) that fetch the ``SlaInputs`` of the case row aliased ``alias``, in the same statement.
    The policy is ``SlaPolicy.objects.matching(...).first()`` written out (same filters, same order)."""
    select = ", ".join(
        [
            _POLICY_ROW.select,
            _DEPARTMENT_ROW.select,
            f"ARRAY(SELECT h.weekday FROM {BusinessHours._meta.db_table} h WHERE h.department_id = {alias}.department_id"
            " ORDER BY h.id)",
            f"ARRAY(SELECT h.opens FROM {BusinessHours._meta.db_table} h WHERE h.department_id = {alias}.department_id"
            " ORDER BY h.id)",
            f"ARRAY(SELECT h.closes FROM {BusinessHours._meta.db_table} h WHERE h.department_id = {alias}.department_id"
            " ORDER BY h.id)",
            f"ARRAY(SELECT x.date FROM {Holiday._meta.db_table} x WHERE x.department_id = {alias}.department_id)",
            f"ARRAY(SELECT r.target FROM {SlaRecord._meta.db_table} r WHERE r.case_id = {alias}.id ORDER BY r.id)",
            f"ARRAY(SELECT r.level FROM {SlaRecord._meta.db_table} r WHERE r.case_id = {alias}.id ORDER BY r.id)",
            f"ARRAY(SELECT r.due_at FROM {SlaRecord._meta.db_table} r WHERE r.case_id = {alias}.id ORDER BY r.id)",
            "sla_cb.id, sla_cb.requested_at, sla_cb.first_dialed_at, sla_cb.status",
        ]
    )
    policy = _POLICY_ROW.alias
    joins = (
        f"LEFT JOIN LATERAL (SELECT * FROM {SlaPolicy._meta.db_table} p WHERE p.is_active"
        f" AND (p.channel = '' OR p.channel = {alias}.channel)"
        f" AND (p.priority IS NULL OR p.priority = {alias}.priority)"
        f" AND (p.department_id IS NULL OR p.department_id = {alias}.department_id)"
        f' ORDER BY p."order", p.id LIMIT 1) {policy} ON true'
        f" JOIN {Department._meta.db_table} {_DEPARTMENT_ROW.alias} ON {_DEPARTMENT_ROW.alias}.id = {alias}.department_id"
        f" LEFT JOIN {Callback._meta.db_table} sla_cb ON sla_cb.case_id = {alias}.id"
        f" AND {alias}.channel = '{Channel.CALLBACK}'"
    )
    return select, joins


SLA_INPUTS_WIDTH = _POLICY_ROW.width + _DEPARTMENT_ROW.width + 7 + 4


def sla_inputs_attach(*, case: Case, values, connection=None) -> None:
    """Attach the ``SlaInputs`` (and the department) read by ``sla_inputs_sql`` to ``case``."""
    values = list(values)
    n = _POLICY_ROW.width
    policy = _POLICY_ROW.load(values[:n], connection=connection) if values[0] is not None else None
    department = _DEPARTMENT_ROW.load(values[n : n + _DEPARTMENT_ROW.width], connection=connection)
    weekdays, opens, closes, holidays, targets, levels, dues, cb_id, requested, dialed, cb_status = values[
        n + _DEPARTMENT_ROW.width :
    ]
    Case.department.field.set_cached_value(case, department)
    case._sla_inputs = SlaInputs(
        key=(case.channel, case.priority, case.department_id),
        policy=policy,
        hours=list(zip(weekdays, opens, closes, strict=True)),
        holidays=list(holidays),
        recorded=list(zip(targets, levels, dues, strict=True)),
        callback=(
            None if cb_id is None else {"requested_at": requested, "first_dialed_at": dialed, "status": cb_status}
        ),
    )


def _take_inputs(case: Case) -> SlaInputs | None:
    inputs = case.__dict__.pop("_sla_inputs", None)
    if inputs is not None and inputs.key == (case.channel, case.priority, case.department_id):
        return inputs
    return None


def _unanswered(case_id):
    """The customer's messages of the case not yet answered by an associate, oldest first (``case_id``: a value or
    an ``OuterRef``)."""
    last_agent = Message.objects.filter(case_id=OuterRef("case_id"), kind=Message.Kind.AGENT).order_by("-id")
    return (
        Message.objects.filter(case_id=case_id, kind=Message.Kind.CUSTOMER)
        .filter(id__gt=Coalesce(Subquery(last_agent.values("id")[:1]), 0))
        .order_by("id")
    )


def _awaiting_reply_since(case: Case) -> datetime | None:
    """When the customer's oldest message not yet answered by an associate was written (None: nothing waits)."""
    return _unanswered(case.pk).values_list("created_at", flat=True).first()


def _callback_of(case: Case) -> dict | None:
    from cases.models import Callback

    return (
        Callback.objects.filter(case_id=case.pk).values("requested_at", "first_dialed_at", "status").first()
        if case.channel == Channel.CALLBACK
        else None
    )


# --- planning ------------------------------------------------------------------------------------------------


def _plan(case: Case, now: datetime, inputs: SlaInputs | None = None) -> Plan:
    """Due times and points of ``case`` at ``now`` (reads messages/callback; writes nothing)."""
    if inputs is not None:
        policy = inputs.policy if inputs.policy is not None else _builtin_policy(case)
    else:
        policy = sla_policy_for(case=case)
    cal = sla_calendar_for(case=case, policy=policy, inputs=inputs)
    plan = Plan(policy=policy, calendar=cal)
    f = plan.fields
    f["sla_policy"] = policy if policy.pk else None  # a built-in default is not stored

    # The pause clock: WAITING_CUSTOMER stops the first-response and resolution clocks; resuming adds the
    # paused business time to them.
    paused_at, paused_seconds = case.sla_paused_at, case.sla_paused_seconds
    waiting = case.status == Case.Status.WAITING_CUSTOMER
    if waiting and paused_at is None:
        paused_at = now
    elif not waiting and paused_at is not None:
        paused_seconds += int(business_between(cal, paused_at, now).total_seconds())
        paused_at = None
    f["sla_paused_at"], f["sla_paused_seconds"] = paused_at, paused_seconds
    paused = timedelta(seconds=paused_seconds)
    is_open_case = case.is_open
    ticking = is_open_case and not waiting
    pct = (policy.warning_percent if policy else 80) / 100

    def add_points(target: str, start: datetime, span: timedelta, extra: timedelta, *, due: datetime, met_at):
        if met_at is not None:
            if met_at > due:
                plan.points.append(Point(target, SlaRecord.Level.BREACH, due, due, running=False, start=start))
            return
        if not ticking and target != SlaTarget.RING:
            return
        warn_at = business_add(cal, start, span * pct + extra) if target != SlaTarget.RING else start + span * pct
        plan.points.append(Point(target, SlaRecord.Level.WARNING, warn_at, due, running=True, start=start))
        plan.points.append(Point(target, SlaRecord.Level.BREACH, due, due, running=True, start=start))

    running_dues: list[datetime] = []

    # First response: from creation, in the policy's clock, plus paused time. Frozen once met.
    first_due = None
    if policy and policy.first_response:
        met = case.first_response_at
        first_due = case.first_response_due_at if (met and case.first_response_due_at) else None
        if first_due is None:
            first_due = business_add(cal, case.created_at, policy.first_response + paused)
        add_points(SlaTarget.FIRST_RESPONSE, case.created_at, policy.first_response, paused, due=first_due, met_at=met)
        if met is None and ticking:
            running_dues.append(first_due)
    f["first_response_due_at"] = first_due

    # Next reply: from the oldest unanswered customer message, once the first response was given.
    next_due = None
    if policy and policy.next_reply and case.first_response_at and is_open_case:
        known = inputs.awaiting_reply_since if inputs is not None else UNREAD
        since = _awaiting_reply_since(case) if known is UNREAD else known
        if since is not None:
            next_due = business_add(cal, since, policy.next_reply)
            add_points(SlaTarget.NEXT_REPLY, since, policy.next_reply, timedelta(0), due=next_due, met_at=None)
            if ticking:
                running_dues.append(next_due)
    if next_due is None and case.next_reply_due_at is not None and case.next_reply_due_at < now:
        # The customer was waiting and has just been answered (or the case closed): answered late.
        plan.points.append(
            Point(
                SlaTarget.NEXT_REPLY,
                SlaRecord.Level.BREACH,
                case.next_reply_due_at,
                case.next_reply_due_at,
                running=False,
                start=case.next_reply_due_at,
            )
        )
    f["next_reply_due_at"] = next_due

    # Resolution: from creation plus paused time. Frozen once resolved.
    resolution_due = None
    if policy and policy.resolution:
        done = case.status in (Case.Status.RESOLVED, Case.Status.CLOSED)
        met = case.resolved_at if done else None
        resolution_due = case.resolution_due_at if (done and case.resolution_due_at) else None
        if resolution_due is None:
            resolution_due = business_add(cal, case.created_at, policy.resolution + paused)
        if case.status != Case.Status.MERGED:
            add_points(SlaTarget.RESOLUTION, case.created_at, policy.resolution, paused, due=resolution_due, met_at=met)
        if met is None and ticking:
            running_dues.append(resolution_due)
    f["resolution_due_at"] = resolution_due

    # Callback ring time: request → first dial, wall clock.
    callback = inputs.callback if inputs is not None else _callback_of(case)
    if policy and policy.ring_time and case.channel == Channel.CALLBACK:
        requested = callback["requested_at"] if callback else case.created_at
        dialed = callback["first_dialed_at"] if callback else None
        ring_due = requested + policy.ring_time
        still_ringing = dialed is None and (callback is None or callback["status"] in RING_RUNNING_STATUSES)
        if dialed is not None or still_ringing:
            add_points(SlaTarget.RING, requested, policy.ring_time, timedelta(0), due=ring_due, met_at=dialed)
        if still_ringing and is_open_case:
            running_dues.append(ring_due)

    f["sla_due_at"] = min(running_dues) if running_dues else None
    return plan


def _recorded(case: Case) -> Recorded:
    return Recorded(SlaRecord.objects.filter(case_id=case.pk).values_list("target", "level", "due_at"))


def _record(
    case: Case, plan: Plan, point: Point, now: datetime, *, actions=(), supervisor_notified: bool = False
) -> SlaRecord | None:
    """Insert the record for ``point`` (with the breach ``actions`` the sweep takes if it is new); None if it
    already exists. One ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` on the unique (case, target, level,
    due_at): the constraint decides, not a prior read."""
    record = SlaRecord(
        case=case,
        target=point.target,
        level=point.level,
        due_at=point.due,
        point_at=point.at,
        recorded_at=now,
        policy=plan.policy if plan.policy and plan.policy.pk else None,
        department_id=case.department_id,
        channel=case.channel,
        priority=case.priority,
        actions=list(actions),
        supervisor_notified=supervisor_notified,
    )
    meta = SlaRecord._meta
    columns = [
        "case_id",
        "target",
        "level",
        "due_at",
        "point_at",
        "recorded_at",
        "policy_id",
        "department_id",
        "channel",
        "priority",
        "actions",
        "supervisor_notified",
    ]
    values = [
        meta.get_field(name.removesuffix("_id") if name.endswith("_id") else name).get_db_prep_save(
            getattr(record, name), connection
        )
        for name in columns
    ]
    sql = (
        f"INSERT INTO {meta.db_table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
        "ON CONFLICT (case_id, target, level, due_at) DO NOTHING RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return None
    record.pk = row[0]
    record._state.adding = False
    return record


# The case fields the recompute stores (``sla_prepare`` sets them), as attribute names of the instance.
SLA_FIELDS = (
    "sla_policy_id",
    "sla_paused_at",
    "sla_paused_seconds",
    "first_response_due_at",
    "next_reply_due_at",
    "resolution_due_at",
    "sla_due_at",
    "sla_next_check_at",
)


@dataclass
class SlaUpdate:
    """What ``sla_prepare`` worked out: the due-time fields (already set on the case; ``fields`` are the model
    field names to save) and the targets met late that ``sla_record_late`` records."""

    plan: Plan
    fields: list[str]
    late: list[Point]


def sla_prepare(*, case: Case, now: datetime) -> SlaUpdate:
    """Compute the due times of ``case`` as it now is (in memory) and set them on it; writes nothing. The caller
    saves the fields (``case_transition`` folds them into its status UPDATE) and then calls ``sla_record_late``."""
    inputs = _take_inputs(case)
    plan = _plan(case, now, inputs)
    if not plan.points:
        recorded = Recorded()
    elif inputs is not None:
        recorded = Recorded(inputs.recorded)
    else:
        recorded = _recorded(case)
    late: list[Point] = []
    for point in plan.points:
        if not point.running and point.at <= now and not recorded.covers(point):
            late.append(point)
            recorded.add(point)
    pending = [p.at for p in plan.points if not recorded.covers(p) and (p.running or p.at > now)]
    fields = dict(plan.fields, sla_next_check_at=min(pending) if pending else None)
    for key, value in fields.items():
        setattr(case, key, value)  # sla_policy: None for a built-in (unsaved) policy
    return SlaUpdate(plan=plan, fields=list(fields), late=late)


def sla_record_late(*, case: Case, update: SlaUpdate, now: datetime) -> None:
    """Record a breach for each target met late (an answer after its due time), once (the unique record decides)."""
    for point in update.late:
        if _record(case, update.plan, point, now) is not None:
            case_event_record(
                case=case,
                type=CaseEvent.Type.SLA_BREACH,
                data={"target": point.target, "due_at": point.due.isoformat(), "met_late": True},
            )


# --- the write-path entry point -----------------------------------------------------------------------------


def sla_recompute(*, case: Case, now: datetime, paused_from: str | None = None) -> None:
    """Store the due times of ``case`` (same transaction as the change that moved them; caller holds the lock).

    Counts the pause when the case leaves WAITING_CUSTOMER (``paused_from`` is informational: the pause start is
    ``case.sla_paused_at``). Records a breach for a target met late (an answer after its due time) at once; warning
    and breach points of running targets are left to the sweep through ``sla_next_check_at``.
    ``case_transition`` does the same in two halves (``sla_prepare`` / ``sla_record_late``) around its UPDATE."""
    update = sla_prepare(case=case, now=now)
    sla_record_late(case=case, update=update, now=now)
    Case.objects.filter(pk=case.pk).update(**{name: getattr(case, name) for name in update.fields})


# --- the sweep ----------------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    cases: int = 0
    warnings: int = 0
    breaches: int = 0

    def __iadd__(self, other: SweepResult) -> SweepResult:
        self.cases += other.cases
        self.warnings += other.warnings
        self.breaches += other.breaches
        return self


def _breach_actions(*, case: Case, policy: SlaPolicy | None) -> tuple[list[str], dict, bool]:
    """What a breach of a running target does to ``case`` under ``policy``, worked out before anything is written:
    the actions as the record lists them, the case's moves (field → new value: ``priority`` one step up,
    ``department`` for a still-queued case re-routed) and whether the supervisor is flagged."""
    actions: list[str] = []
    moves: dict = {}
    if policy is None:
        return actions, moves, False
    if policy.breach_raise_priority and case.priority > Priority.URGENT:
        moves["priority"] = case.priority - 1
        actions.append(f"priority {Priority(case.priority).label} → {Priority(moves['priority']).label}")
    target_dept = policy.breach_reroute_to_id
    if target_dept and target_dept != case.department_id and case.status == Case.Status.NEW:
        moves["department"] = policy.breach_reroute_to
        actions.append(f"re-routed to {moves['department'].name}")
    if policy.breach_notify_supervisor:
        actions.append("supervisor notified")
    return actions, moves, policy.breach_notify_supervisor


def _act_on_breach(*, case: Case, moves: dict, target: str) -> None:
    """Make a recorded breach's moves on ``case`` in memory, each with its timeline event; the sweep writes the
    case once, after its last round (``_sweep_case``)."""
    if "priority" in moves:
        old = case.priority
        case.priority = moves["priority"]
        case_event_record(
            case=case,
            type=CaseEvent.Type.PRIORITY_CHANGED,
            old=Priority(old).label,
            new=Priority(case.priority).label,
            data={"why": "sla_breach", "target": target},
        )
    if "department" in moves:
        old_dept = case.department
        case.department = moves["department"]
        case_event_record(
            case=case,
            type=CaseEvent.Type.TRANSFERRED,
            old=old_dept.slug,
            new=case.department.slug,
            data={"why": "sla_breach", "target": target},
        )


class _BatchReads:
    """What the recomputes of one sweep batch read, fetched once for the batch: the active policies (matched in
    memory, ``SlaPolicy.matches`` in ``matching``'s order), the cases' recorded points, their Call Me Now rows and
    when each customer's oldest unanswered message was written — at most four queries whatever the batch size.
    Every case used to read its policy and its records in each round and again in its closing recompute, plus its
    callback and unanswered message where it has them: six or more ORM reads a case, most of the sweep's time
    (docs/BENCHMARKS.md, "the SLA sweep's per-case reads"). The departments' hours and holidays come prefetched
    with the batch (a department a breach re-routes to is read once, when first met).

    Nothing read here can change under the batch: it holds every case's row lock from its SELECT on, and every
    writer of a case's records, messages or callback takes that lock first. A policy edited during the batch is
    seen by the next batch, as a recompute reading it a moment earlier would have missed it too."""

    def __init__(self, cases: list[Case]):
        ids = [case.pk for case in cases]
        self.policies = list(SlaPolicy.objects.active().order_by("order", "id"))
        self.recorded: dict[int, list[tuple[str, str, datetime]]] = {pk: [] for pk in ids}
        for case_id, *key in SlaRecord.objects.filter(case_id__in=ids).values_list(
            "case_id", "target", "level", "due_at"
        ):
            self.recorded[case_id].append(tuple(key))
        callback_ids = [case.pk for case in cases if case.channel == Channel.CALLBACK]
        self.callbacks = {
            row.pop("case_id"): row
            for row in Callback.objects.filter(case_id__in=callback_ids).values(
                "case_id", "requested_at", "first_dialed_at", "status"
            )
        }
        answered_ids = [case.pk for case in cases if case.first_response_at is not None]  # next reply needs one
        self.awaiting = dict(
            Case.objects.filter(pk__in=answered_ids).values_list(
                "pk", Subquery(_unanswered(OuterRef("pk")).values("created_at")[:1])
            )
        )
        self.calendars: dict[int, tuple[list, list]] = {}

    def inputs(self, case: Case, recorded: Recorded) -> SlaInputs:
        """``case``'s inputs as it now is (a breach may have raised its priority or re-routed it)."""
        department = case.department
        if department.pk not in self.calendars:
            self.calendars[department.pk] = (
                [(h.weekday, h.opens, h.closes) for h in department.hours.all()],
                [h.date for h in department.holidays.all()],
            )
        hours, holidays = self.calendars[department.pk]
        key = (case.channel, case.priority, case.department_id)
        policy = next(
            (p for p in self.policies if p.matches(channel=key[0], priority=key[1], department_id=key[2])), None
        )
        return SlaInputs(
            key=key,
            policy=policy,
            hours=hours,
            holidays=holidays,
            recorded=list(recorded.rows),
            callback=self.callbacks.get(case.pk) if case.channel == Channel.CALLBACK else None,
            awaiting_reply_since=self.awaiting.get(case.pk),
        )


def _sweep_case(case: Case, now: datetime, reads: _BatchReads) -> SweepResult:
    """Record every passed point of a locked ``case`` once, act on its breaches, and store its due times: the
    records and events as they happen, the case itself in one UPDATE at the end (its due times, and its priority
    or department if a breach moved them)."""
    result = SweepResult(cases=1)
    recorded = Recorded(reads.recorded[case.pk])  # kept up to date below: nobody else records for a locked case
    moved: set[str] = set()
    for _round in range(5):  # acting may change priority/department → new policy → new points (bounded)
        plan = _plan(case, now, reads.inputs(case, recorded))
        changed = False
        for point in sorted(plan.points, key=lambda p: (p.at, p.level != SlaRecord.Level.WARNING)):
            if point.at > now or recorded.covers(point):
                continue
            acting = point.level == SlaRecord.Level.BREACH and point.running
            actions, moves, notify = _breach_actions(case=case, policy=plan.policy) if acting else ([], {}, False)
            record = _record(case, plan, point, now, actions=actions, supervisor_notified=notify)
            recorded.add(point)
            if record is None:
                continue
            data = {
                "target": point.target,
                "due_at": point.due.isoformat(),
                "late_by_s": int((now - point.at).total_seconds()),
            }
            if point.level == SlaRecord.Level.WARNING:
                result.warnings += 1
                case_event_record(case=case, type=CaseEvent.Type.SLA_WARNING, data=data)
            else:
                result.breaches += 1
                case_event_record(
                    case=case, type=CaseEvent.Type.SLA_BREACH, data=dict(data, met_late=not point.running)
                )
                if moves:
                    _act_on_breach(case=case, moves=moves, target=point.target)
                    moved.update(moves)
                    changed = True
        if not changed:
            break
    case._sla_inputs = reads.inputs(case, recorded)  # consumed by sla_prepare: nothing more is read
    update = sla_prepare(case=case, now=now)
    sla_record_late(case=case, update=update, now=now)
    rawrows.update(case, [*update.fields, *sorted(moved)])
    return result


def sla_sweep_batch(*, now: datetime, batch_size: int = SWEEP_BATCH_SIZE) -> SweepResult:
    """One batch: lock up to ``batch_size`` due cases (skipping rows another sweep or a write holds)."""
    result = SweepResult()
    with transaction.atomic():
        cases = list(
            Case.objects.filter(sla_next_check_at__lte=now)
            .order_by("sla_next_check_at")
            .select_related("department")
            .prefetch_related("department__hours", "department__holidays")
            .select_for_update(skip_locked=True, of=("self",), no_key=True)[:batch_size]
        )
        reads = _BatchReads(cases) if cases else None
        for case in cases:
            result += _sweep_case(case, now, reads)
    return result


def sla_sweep(*, now: datetime | None = None, batch_size: int = SWEEP_BATCH_SIZE) -> SweepResult:
    """Sweep until no due case is left (or ``SWEEP_MAX_BATCHES`` batches ran: the next beat continues)."""
    now = now or timezone.now()
    result = SweepResult()
    for _ in range(SWEEP_MAX_BATCHES):
        batch = sla_sweep_batch(now=now, batch_size=batch_size)
        result += batch
        if batch.cases < batch_size:
            break
    if result.cases:
        log.info("sla sweep: %s cases, %s warnings, %s breaches", result.cases, result.warnings, result.breaches)
    return result


# --- customer-facing ------------------------------------------------------------------------------------------


# What the customer is told once the promised time has passed: an apology, not a time in the past.
LATE_PROMISE = "we are sorry for the wait: an associate will reply as soon as they can"


def _promised(case: Case) -> bool:
    """The customer has a promise: the case is open and its clock runs (not paused while it waits on them)."""
    return case.sla_due_at is not None and case.is_open and case.sla_paused_at is None


def sla_promise_late(*, case: Case, now: datetime | None = None) -> bool:
    """The promise given to the customer (``sla_due_at``) has passed and the case is still open, its clock running
    (a case waiting on the customer is not late: its clock is paused)."""
    return _promised(case) and case.sla_due_at <= (now or timezone.now())


def sla_promise_text(*, case: Case, now: datetime | None = None) -> str:
    """ "we will reply by 14:05 (EST)" in the department's time zone (date added when it is not today); once that
    time has passed, ``LATE_PROMISE``. Empty if no clock runs, or while it is paused: the case waits on the
    customer, and nothing is promised until they answer."""
    if not _promised(case):
        return ""
    now = now or timezone.now()
    if case.sla_due_at <= now:
        return LATE_PROMISE
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(case.department.time_zone)
    due = case.sla_due_at.astimezone(tz)
    today = now.astimezone(tz).date()
    when = due.strftime("%H:%M") if due.date() == today else due.strftime("%a %d %b, %H:%M")
    return f"we will reply by {when} ({due.tzname()})"


def sla_closed_department_notice(*, case: Case, now: datetime) -> Notification | None:
    """A case for a closed department (business-hours policy): tell the customer when it opens and the promise."""
    policy = sla_policy_for(case=case)
    if policy.clock != SlaPolicy.Clock.BUSINESS:
        return None
    cal = calendar_for(case.department)
    if cal.always_open or is_open(cal, now):
        return None
    from zoneinfo import ZoneInfo

    opens = next_opening(cal, now).astimezone(ZoneInfo(case.department.time_zone))
    promise = sla_promise_text(case=case, now=now)
    body = f"{case.department.name} is closed right now and opens {opens.strftime('%A %d %B at %H:%M')} ({opens.tzname()})."
    if promise:
        body += f" Your case {case.reference} is in the queue: {promise}."
    return notification_send(
        customer=case.customer,
        case=case,
        kind=Notification.Kind.CASE,
        title=f"{case.department.name} is closed now",
        body=body,
    )


def sla_due_preview(*, case: Case, now: datetime) -> dict:
    """Read-only: the due times ``sla_recompute`` would store now (for tests and the admin)."""
    plan = _plan(case, now)
    return dict(plan.fields, points=plan.points)


__all__ = [
    "SweepResult",
    "business_add",
    "sla_closed_department_notice",
    "sla_policy_for",
    "sla_promise_late",
    "sla_promise_text",
    "sla_recompute",
    "sla_sweep",
    "sla_sweep_batch",
]
