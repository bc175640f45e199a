"""What an associate does to a case from the workspace: transfer, escalate, merge, wait on the customer,
resolve, reopen; macros; who is viewing. Every status change goes through ``case_transition`` under a lock."""

import string
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from cases.errors import ApplicationError, Conflict, NotAllowed
from cases.models import AgentProfile, Case, CaseEvent, CaseViewer, Department, Macro, Notification, Priority
from cases.services.cases import case_event_record, case_transition
from cases.services.notifications import notification_send

# Longer than a live poll's wait (settings.RH_LIVE WAIT_SECONDS, 20 s): a waiting workspace touches once per answer.
VIEWER_TTL = timedelta(seconds=30)
# A viewer row younger than this is not written again (case_viewer_touch): well under VIEWER_TTL - WAIT_SECONDS.
VIEWER_FRESH = timedelta(seconds=5)
SOCIAL_DEPARTMENT = "social"


def _lock(case_id: int) -> Case:
    try:
        return Case.objects.select_for_update(no_key=True).select_related("customer", "department").get(pk=case_id)
    except Case.DoesNotExist:
        raise ApplicationError("No such case.", code="not_found") from None


def _is_supervisor(user) -> bool:
    return AgentProfile.objects.filter(user_id=user.pk, role="supervisor").exists()


def _require_holder(case: Case, actor) -> None:
    if case.assignee_id == actor.pk or _is_supervisor(actor):
        return
    raise NotAllowed(f"You do not hold {case.reference}. Take it first.", code="not_assignee")


@transaction.atomic
def case_transfer(*, case_id: int, department_id: int, actor, note: str = "") -> Case:
    """Send the case to another department's queue (it waits there for someone who works that department)."""
    case = _lock(case_id)
    _require_holder(case, actor)
    if not case.is_open:
        raise Conflict(f"{case.reference} is {case.get_status_display().lower()}; reopen it first.", code="closed")
    target = Department.objects.filter(pk=department_id).first()
    if target is None:
        raise ApplicationError("Choose a department.", fields={"department": ["Not a valid choice."]})
    if target.pk == case.department_id:
        raise ApplicationError(
            f"{case.reference} is already in {target.name}.", fields={"department": ["Same department."]}
        )
    old = case.department
    case.department = target
    if case.status == Case.Status.NEW:
        case.queued_at = timezone.now()
        case.save(update_fields=["department", "queued_at", "updated_at"])
        from cases.services.sla import sla_recompute

        sla_recompute(case=case, now=case.queued_at)
    else:
        case_transition(case=case, new_status=Case.Status.NEW, actor=actor, data={"why": "transferred"})
    case_event_record(
        case=case,
        type=CaseEvent.Type.TRANSFERRED,
        actor=actor,
        old=old.slug,
        new=target.slug,
        data={"note": note[:300]},
        public=False,
    )
    return case


@transaction.atomic
def case_escalate(*, case_id: int, to: str, actor, note: str = "") -> Case:
    """``to="supervisor"``: raise the priority and flag it for supervisors (the holder keeps it);
    ``to="social"``: hand it to social care (higher clearance) at high priority."""
    if to not in ("supervisor", "social"):
        raise ApplicationError("Escalate to a supervisor or to social care.", fields={"to": ["Not a valid choice."]})
    case = _lock(case_id)
    _require_holder(case, actor)
    if not case.is_open:
        raise Conflict(f"{case.reference} is {case.get_status_display().lower()}; reopen it first.", code="closed")
    old_priority = case.priority
    case.priority = min(case.priority, Priority.HIGH)
    case.escalation_reasons = [
        *case.escalation_reasons,
        {
            "code": f"escalated_to_{to}",
            "by": actor.get_username(),
            "note": note[:300],
            "at": timezone.now().isoformat(),
        },
    ]
    case.save(update_fields=["priority", "escalation_reasons", "updated_at"])
    case_event_record(
        case=case, type=CaseEvent.Type.ESCALATED, actor=actor, old=str(old_priority), new=to, data={"note": note[:300]}
    )
    if to == "social":
        social = Department.objects.filter(slug=SOCIAL_DEPARTMENT).first()
        if social is None:
            raise ApplicationError("There is no social care department configured.", code="no_social")
        if social.pk != case.department_id:
            case_transfer(case_id=case.pk, department_id=social.pk, actor=actor, note=note or "escalated to social")
            case.refresh_from_db()
    return case


@transaction.atomic
def case_merge(*, case_id: int, into_reference: str, actor) -> Case:
    """Merge a duplicate into another open case of the same customer. The duplicate becomes MERGED."""
    case = _lock(case_id)
    _require_holder(case, actor)
    into_reference = (into_reference or "").strip().upper()
    from cases.selectors import cases_visible_to_agent

    # A case the actor cannot see is answered like one that does not exist.
    target = (
        cases_visible_to_agent(user=actor)
        .select_for_update(no_key=True, of=("self",))
        .filter(reference=into_reference)
        .first()
    )
    if target is None:
        raise ApplicationError(f"No case {into_reference or '(blank)'}.", fields={"into": ["No such case."]})
    if target.pk == case.pk:
        raise ApplicationError("A case cannot be merged into itself.", fields={"into": ["Same case."]})
    if target.customer_id != case.customer_id:
        raise ApplicationError("Only cases of the same customer can be merged.", fields={"into": ["Other customer."]})
    if not target.is_open:
        raise Conflict(f"{target.reference} is not open.", code="target_closed")
    case.merged_into = target
    case_transition(case=case, new_status=Case.Status.MERGED, actor=actor, data={"into": target.reference})
    case_event_record(case=case, type=CaseEvent.Type.MERGED, actor=actor, new=target.reference, public=True)
    case_event_record(case=target, type=CaseEvent.Type.MERGED, actor=actor, old=case.reference, data={"from": case.pk})
    return case


@transaction.atomic
def case_wait_on_customer(*, case_id: int, actor) -> Case:
    case = _lock(case_id)
    _require_holder(case, actor)
    return case_transition(case=case, new_status=Case.Status.WAITING_CUSTOMER, actor=actor)


@transaction.atomic
def case_resolve(*, case_id: int, reason: str, actor, note: str = "") -> Case:
    if reason not in Case.ResolutionReason.values:
        raise ApplicationError("Choose a resolution reason.", fields={"reason": ["Not a valid choice."]})
    case = _lock(case_id)
    _require_holder(case, actor)
    case.resolution_reason = reason
    case_transition(case=case, new_status=Case.Status.RESOLVED, actor=actor, data={"reason": reason, "note": note})
    notification_send(
        customer=case.customer,
        case=case,
        kind=Notification.Kind.RESOLVED,
        title=f"Case {case.reference} resolved",
        body=f"{Case.ResolutionReason(reason).label}. Reply within 7 days to reopen it.",
    )
    return case


@transaction.atomic
def case_reopen(*, case_id: int, actor) -> Case:
    case = _lock(case_id)
    if not _is_supervisor(actor) and case.assignee_id not in (None, actor.pk):
        raise NotAllowed(f"You do not hold {case.reference}.", code="not_assignee")
    case.resolution_reason = ""
    case.resolved_at = None
    case_transition(case=case, new_status=Case.Status.NEW, actor=actor, data={"why": "reopened"})
    case_event_record(case=case, type=CaseEvent.Type.REOPENED, actor=actor, public=True)
    return case


class _Placeholders(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def macro_render(*, macro: Macro, case: Case, agent) -> str:
    """Fill a canned reply's placeholders. Unknown placeholders are left as typed so the associate sees them."""
    values = _Placeholders(
        customer_name=case.customer.name.split(" ")[0] if case.customer.name else "there",
        case_reference=case.reference or "",
        agent_name=agent.first_name or agent.get_username(),
        order_number=case.order.number if case.order_id else "",
        department=case.department.name,
    )
    try:
        return string.Formatter().vformat(macro.body, (), values)
    except (ValueError, IndexError):
        return macro.body


def case_workspace_open(*, case: Case, user, now: datetime | None = None) -> dict:
    """The workspace page opened by ``user``: records them as a viewer by ``case_viewer_touch``'s rule (written only
    when their row is older than ``VIEWER_FRESH``; a write wakes the other viewers' live polls, after the commit)
    and returns the page's rows (``selectors.workspace_data``). On PostgreSQL the viewer upsert is sent inside the
    page's one statement with the 360 and the case's lists (``selectors_360.workspace_sql``): one round trip instead
    of three per page view, still one autocommit statement. Elsewhere, the upsert and then the reads."""
    from cases import selectors
    from cases.live import VIEWER, case_news_publish

    now = now or timezone.now()
    if connection.vendor != "postgresql":
        case_viewer_touch(case=case, user=user, now=now, arriving=True)
        data = selectors.workspace_data(case=case, user=user)
    else:
        data = selectors.workspace_data(case=case, user=user, touch_at=now)
        if data["viewer_written"]:
            case_news_publish(case_id=case.pk, kind=VIEWER)
    del data["viewer_written"]
    return data


def viewer_upsert_sql(*, case: str, user: str, now: str, fresh: str) -> str:
    """The viewer touch's one statement, with the given placeholders: the viewer's row set to ``now`` unless it was
    touched after ``fresh`` (then nothing is written). ``case_viewer_touch`` runs it with positional placeholders
    (the case's and the user's come twice in its parameters); the workspace page's one statement
    (``selectors_360.workspace_sql``) sends it as a data-modifying CTE with named ones."""
    table = CaseViewer._meta.db_table
    return (
        f"INSERT INTO {table} (case_id, user_id, last_seen_at) SELECT {case}, {user}, {now} WHERE NOT EXISTS ("
        f"SELECT 1 FROM {table} WHERE case_id = {case} AND user_id = {user} AND last_seen_at > {fresh}) "
        "ON CONFLICT (case_id, user_id) DO UPDATE SET last_seen_at = excluded.last_seen_at"
    )


def case_viewer_touch(*, case: Case, user, now: datetime | None = None, arriving: bool = False) -> bool:
    """Record that ``user`` has the case open (one upsert, no lock): the collision line reads the last
    ``VIEWER_TTL``. A row touched less than ``VIEWER_FRESH`` ago is left as it is (nothing written, nothing
    committed: a reload, a second tab or the page's own poll right after it cost a read, not a write); an open
    workspace still touches at least every live poll answer (≤ 20 s), so its row never gets older than 25 s and
    its viewer stays listed; after the last view the line goes 25–30 s later instead of 30 s.

    ``arriving`` (the workspace page itself, not its poll) wakes the other viewers' live polls so their "also
    viewing" line shows the newcomer at once — when the row was written: a fresh row means they show the viewer
    already. Returns whether the row was written."""
    now = now or timezone.now()
    # One statement in autocommit (PostgreSQL and SQLite both upsert): bulk_create would wrap it in BEGIN/COMMIT,
    # two more round trips on every workspace load and every chat poll.
    with connection.cursor() as cursor:
        cursor.execute(
            viewer_upsert_sql(case="%s", user="%s", now="%s", fresh="%s"),
            [
                case.pk,
                user.pk,
                connection.ops.adapt_datetimefield_value(now),
                case.pk,
                user.pk,
                connection.ops.adapt_datetimefield_value(now - VIEWER_FRESH),
            ],
        )
        written = cursor.rowcount > 0
    if arriving and written:
        from cases.live import VIEWER, case_news_publish

        case_news_publish(case_id=case.pk, kind=VIEWER)
    return written
