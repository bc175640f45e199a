"""Reads of the back office. One access gate per audience, used by lists and details alike."""

import functools

from django.db import connection
from django.db.models import BooleanField, Count, F, Func, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from cases import rawrows
from cases.models import AgentProfile, Case, Channel, Department, Message, Priority, Role

HELD_STATUSES = (Case.Status.ASSIGNED, Case.Status.WAITING_CUSTOMER)


def agent_profile_of(user) -> AgentProfile | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.agent
    except AgentProfile.DoesNotExist:
        return None


def cases_visible_to_agent(*, user, departments_as_array: bool = False) -> QuerySet[Case]:
    """Associates see their departments' cases; supervisors see all; anyone else sees none.

    ``departments_as_array``: the same rule written for a scan of many cases (``_cases_visible_to_profile``)."""
    profile = agent_profile_of(user)
    if profile is None or not user.is_active:
        return Case.objects.none()
    return _cases_visible_to_profile(profile, departments_as_array=departments_as_array)


class _EqualsAnyOfArray(Func):
    """``<column> = ANY(ARRAY(<subquery>))`` (PostgreSQL): the subquery runs once, before the scan (an InitPlan),
    and its values become an index condition of the scan."""

    arity = 2
    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra_context):
        column, column_params = compiler.compile(self.source_expressions[0])
        values, values_params = compiler.compile(self.source_expressions[1])  # "(SELECT ...)"
        return f"{column} = ANY(ARRAY{values})", (*column_params, *values_params)


def _cases_visible_to_profile(profile: AgentProfile, *, departments_as_array: bool = False) -> QuerySet[Case]:
    """The access rule of staff (the agent gate's, for lists and details alike). Its shape may depend on the
    profile's role only: ``case_get_for_agent`` compiles it once per role with a stand-in profile.

    An associate's departments are a semi-join (``department_id IN (SELECT ...)``), which serves lookups of a few
    cases. ``departments_as_array`` (PostgreSQL; elsewhere it is ignored) writes the same departments as
    ``department_id = ANY(ARRAY(SELECT ...))``, for a statement that reads every case of those departments in an
    index's order: the planner then scans the index once, with the departments as its condition, in the order the
    statement groups on. The semi-join made it scan the index once per department, copy every entry into a memo,
    join and hash-aggregate: the queue board's waiting counts at 1,000,000 cases, an associate of two departments
    (52,482 waiting cases), ran 30–34 ms that way against 10 ms (docs/BENCHMARKS.md, session 9)."""
    if profile.role == Role.SUPERVISOR:
        return Case.objects.all()
    if departments_as_array and connection.vendor == "postgresql":
        departments = AgentProfile.departments.through.objects.filter(agentprofile_id=profile.pk)
        return Case.objects.filter(_EqualsAnyOfArray(F("department_id"), Subquery(departments.values("department_id"))))
    return Case.objects.filter(department__in=profile.departments.all())


# Stand-in values the gate's statement is compiled with (rawrows.CompiledQuery): no real id or reference is either
# (integers in every integer column's range: Django compiles an out-of-range lookup to "nothing matches").
_GATE_PROFILE = -2_147_483_001
_GATE_CASE_ID = -2_147_483_002
_GATE_REFERENCE = "\x00rh-gate-reference"


def case_get_for_agent(
    *, user, case_id: int | None = None, reference: str | None = None, related: tuple[str, ...] = ()
) -> Case:
    """The case by id or reference if ``user`` may see it (``cases_visible_to_agent``), with its customer,
    department, assignee and ``related``; ``Http404`` otherwise.

    The statement is the rule's own QuerySet, compiled by the ORM once per connection, role, lookup and
    ``related`` (``rawrows.compiled``) and executed again with this request's values (prepared on PostgreSQL):
    the same SQL and the same instances as ``qs.get()``, without ~1 ms of compiling it on every request."""
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.models.query import MAX_GET_RESULTS

    profile = agent_profile_of(user)
    if profile is None or not user.is_active:
        raise Http404("No such case.")
    by, value = ("pk", case_id) if case_id is not None else ("reference", reference)
    if value is None:
        raise Http404("No such case.")
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        field = Case._meta.pk if by == "pk" else Case._meta.get_field(by)
        value = field.get_db_prep_value(value, connection, prepared=False)
    except (ValueError, TypeError):
        raise Http404("No such case.") from None
    role = profile.role

    def build():
        sentinel = _GATE_CASE_ID if by == "pk" else _GATE_REFERENCE
        stand_in = AgentProfile(pk=_GATE_PROFILE, role=role)
        qs = _cases_visible_to_profile(stand_in).select_related("customer", "department", "assignee", *related)
        slots = {"case": sentinel}
        if role != Role.SUPERVISOR:
            slots["profile"] = _GATE_PROFILE
        return qs.filter(**{by: sentinel})[:MAX_GET_RESULTS], slots

    query = rawrows.compiled(("case_get_for_agent", role, by, tuple(related)), build, connection=connection)
    found = query.fetch({"case": value, "profile": profile.pk}, connection=connection)
    if not found:
        raise Http404("No such case.")
    if len(found) > 1:
        raise Case.MultipleObjectsReturned(f"get() returned more than one Case -- it returned {len(found)}!")
    return found[0]


def cases_visible_to_customer(*, user) -> QuerySet[Case]:
    customer = getattr(user, "customer", None) if getattr(user, "is_authenticated", False) else None
    if customer is None:
        return Case.objects.none()
    return Case.objects.filter(customer=customer).exclude(status=Case.Status.MERGED)


def case_get_for_customer(*, user, reference: str) -> Case:
    try:
        return cases_visible_to_customer(user=user).select_related("department").get(reference=reference)
    except (Case.DoesNotExist, ValueError, TypeError):
        raise Http404("No such case.") from None


def queue_overview(*, user) -> list[dict]:
    """Waiting cases per department and channel, with the urgent count and the oldest wait: one grouped query.

    Every column it reads (department, channel, priority, queue time) is in the partial index
    ``case_waiting_counts``, so PostgreSQL answers it with an index-only scan of the waiting cases, aggregated in
    index order, and never visits the table (docs/BENCHMARKS.md, queue board). Keep it that way: ``COUNT(*)`` not
    ``COUNT(id)``, group on ``department_id`` alone, and look the department's name up once per group (a join
    before grouping costs a hash aggregate over every waiting case: twice the time at 60,000 waiting)."""
    department = Department.objects.filter(pk=OuterRef("department_id")).order_by()
    rows = (
        cases_visible_to_agent(user=user, departments_as_array=True)
        .filter(status=Case.Status.NEW)
        .values("department_id", "channel")
        .annotate(
            waiting=Count("*"),
            oldest=Min("queued_at"),
            urgent=Count("priority", filter=Q(priority=Priority.URGENT)),
        )
        .annotate(
            department__name=Subquery(department.values("name")),
            department__slug=Subquery(department.values("slug")),
        )
        .order_by("department__name", "channel")
    )
    return list(rows)


def case_public_messages(*, case: Case, after_id: int = 0, limit: int = 200) -> list[Message]:
    """What the customer sees of a conversation: public messages (never internal notes), oldest first, one query."""
    qs = (
        Message.objects.filter(case=case, kind__in=Message.PUBLIC_KINDS, id__gt=after_id)
        .select_related("author")
        .order_by("-id")[:limit]
    )
    return list(reversed(qs))


# --- Queue board and workspace (fixed query counts; pinned in tests) -------------------------------------------


# What the board's case rows show (the rest of a case, JSON triage included, is not read: ~2× less to decode).
BOARD_CASE_FIELDS = (
    "reference", "subject", "channel", "intent", "priority", "status", "sla_due_at", "queued_at",
    "department_id", "department__name", "department__slug",
    "customer_id", "customer__name",
)  # fmt: skip


def queue_waiting(*, user, limit: int = 50) -> list[Case]:
    """The head of the visible queues, in take-next order (priority, SLA due, queue time).

    Two steps in one statement: the ids of the first ``limit`` visible waiting cases, walked in order on the partial
    index ``case_queue_head`` (which carries the department, so an associate's walk past other departments' cases
    reads only the index), then those rows with their customer and department."""
    head = (
        cases_visible_to_agent(user=user)
        .filter(status=Case.Status.NEW)
        .order_by("priority", "sla_due_at", "queued_at", "id")
        .values("id")[:limit]
    )
    return list(
        Case.objects.filter(pk__in=Subquery(head))
        .select_related("customer", "department")
        .only(*BOARD_CASE_FIELDS)
        .order_by("priority", "sla_due_at", "queued_at", "id")
    )


def cases_held_by(*, user, limit: int | None = None) -> list[Case]:
    """Open cases an associate holds, most urgent first (``limit``: only the head of that list).

    With a ``limit`` the order is taken from the partial index ``case_held_load`` (index-only, however many cases
    they hold) and only the rows shown are read, with their customer and department."""
    held = Case.objects.filter(assignee=user, status__in=HELD_STATUSES).order_by("priority", "sla_due_at", "id")
    if limit is not None:
        held = Case.objects.filter(pk__in=Subquery(held.values("id")[:limit])).order_by("priority", "sla_due_at", "id")
    return list(held.select_related("customer", "department").only(*BOARD_CASE_FIELDS))


# Capacity groups of the roster's load columns (the same grouping as cases.services.queue.CAPACITY_GROUPS).
BOARD_LOAD_GROUPS: dict[str, tuple[str, ...]] = {
    "chats": (Channel.CHAT,),
    "calls": (Channel.CALLBACK, Channel.PHONE),
    "socials": (Channel.SOCIAL,),
    "asyncs": (Channel.EMAIL, Channel.WEB),
}


def _held_count(*channels: str):
    """Open cases of the row's associate in these channels. An index-only range scan of ``case_held_load``
    (assignee, channel) WHERE held: it reads exactly the entries it counts, never the table (``COUNT(*)``)."""
    held = (
        Case.objects.filter(assignee_id=OuterRef("user_id"), status__in=HELD_STATUSES, channel__in=channels)
        .order_by()
        .values("assignee_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(held), 0)


ROSTER_USER_DEFERRED = ("user__password", "user__last_login", "user__date_joined", "user__email")


@functools.cache
def _roster_statements() -> tuple[str, str, rawrows.RowLoader, rawrows.RowLoader]:
    """The team roster's two fixed statements (everyone; the associates sharing a department with the viewer) and
    their row loaders, built once per process. Hand-written because the ORM spent ~2 ms compiling the four
    correlated counts on every board render and every 3 s poll (docs/BENCHMARKS.md, session 3)."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    profile = rawrows.RowLoader(AgentProfile, "p")
    user = rawrows.RowLoader(User, "u", only=("username", "first_name", "last_name", "is_active"))
    counts = ", ".join(
        f"""(SELECT COUNT(*) FROM "{Case._meta.db_table}" c WHERE c.assignee_id = p.user_id
            AND c.status IN ({rawrows.sql_in(HELD_STATUSES)}) AND c.channel IN ({rawrows.sql_in(channels)})) AS {name}"""
        for name, channels in BOARD_LOAD_GROUPS.items()
    )
    select = f"""SELECT {profile.select}, {user.select}, {counts}
        FROM "{AgentProfile._meta.db_table}" p JOIN "{User._meta.db_table}" u ON u.id = p.user_id"""
    through = AgentProfile.departments.through._meta.db_table
    sharing = f"""
        WHERE p.id = %s OR EXISTS (
            SELECT 1 FROM "{through}" s WHERE s.agentprofile_id = p.id
            AND s.department_id IN (SELECT m.department_id FROM "{through}" m WHERE m.agentprofile_id = %s))"""
    order = " ORDER BY p.presence, u.username"
    return select + order, select + sharing + order, profile, user


def agents_board(*, user) -> list[AgentProfile]:
    """Associates of the viewer's departments (everyone for supervisors), the viewer always among them, with their
    presence and open load per capacity group (``chats``, ``calls``, ``socials``, ``asyncs``): one query.

    The load is one correlated count per group on the partial index ``case_held_load`` (index-only); a join over
    every case an agent ever held (resolved ones included) took seconds at 1,000,000 cases, and counting through
    the (assignee, status) index read every held case from the table three times (docs/BENCHMARKS.md). An
    associate in two shared departments is one row (a semi-join, not a join + DISTINCT)."""
    profile = agent_profile_of(user)
    if profile is None:
        return []
    everyone, sharing, profile_row, user_row = _roster_statements()
    with rawrows.cursor() as cursor:
        if profile.is_supervisor:
            cursor.execute(everyone)
        else:
            cursor.execute(sharing, [profile.pk, profile.pk])
        rows = cursor.fetchall()
    roster = []
    split = profile_row.width + user_row.width
    for row in rows:
        agent = profile_row.load(row[: profile_row.width])
        agent.user = user_row.load(row[profile_row.width : split])
        agent.chats, agent.calls, agent.socials, agent.asyncs = row[split:]
        roster.append(agent)
    return roster


@functools.cache
def _offers_statement() -> tuple[str, tuple[rawrows.RowLoader, ...]]:
    from cases.models import Callback
    from customers.models import Customer

    loaders = (
        rawrows.RowLoader(Callback, "cb"),
        rawrows.RowLoader(Case, "c", only=("reference", "subject", "channel", "priority", "status", "assignee")),
        rawrows.RowLoader(Customer, "cu", only=("name",)),
        rawrows.RowLoader(Department, "d", only=("name", "slug")),
    )
    sql = f"""SELECT {", ".join(loader.select for loader in loaders)}
        FROM "{Callback._meta.db_table}" cb
        JOIN "{Case._meta.db_table}" c ON c.id = cb.case_id
        JOIN "{Customer._meta.db_table}" cu ON cu.id = c.customer_id
        JOIN "{Department._meta.db_table}" d ON d.id = c.department_id
        WHERE cb.offered_to_id = %s AND c.assignee_id = %s
          AND cb.status IN ({rawrows.sql_in((Callback.Status.OFFERED, Callback.Status.DIALING))})
        ORDER BY cb.requested_at"""
    return sql, loaders


def callback_offers_for(*, user) -> list:
    """The Call Me Now requests offered to this associate (or on the line), with their case, customer and
    department. One fixed statement: usually nothing is offered, and the ORM spent ~1 ms compiling the four-table
    join on every board render and poll."""
    sql, loaders = _offers_statement()
    with rawrows.cursor() as cursor:
        cursor.execute(sql, [user.pk, user.pk])
        rows = cursor.fetchall()
    offers = []
    for row in rows:
        objects, start = [], 0
        for loader in loaders:
            objects.append(loader.load(row[start : start + loader.width]))
            start += loader.width
        callback, case, customer, department = objects
        case.customer, case.department = customer, department
        callback.case = case
        offers.append(callback)
    return offers


BOARD_WAITING_ROWS = 50  # head of the queue shown on the board
BOARD_MINE_ROWS = 50  # the associate's own cases shown on the board (the header counts them all)


def queue_board(*, user) -> dict:
    """Everything the queue board shows, in a fixed number of queries whatever the data size (pinned in tests):
    waiting counts per department × channel (1), head of the queue (1), my cases (1), the team with their load,
    the viewer's own load included (1), my callback offers (1)."""
    rows = queue_overview(user=user)
    agents = agents_board(user=user)
    me = next((a for a in agents if a.user_id == user.pk), None)
    load = {
        "chat": getattr(me, "chats", 0),
        "call": getattr(me, "calls", 0),
        "social": getattr(me, "socials", 0),
        "async": getattr(me, "asyncs", 0),
    }
    mine = cases_held_by(user=user, limit=BOARD_MINE_ROWS)
    return {
        "rows": rows,
        "total_waiting": sum(r["waiting"] for r in rows),
        "waiting": queue_waiting(user=user, limit=BOARD_WAITING_ROWS),
        "mine": mine,
        "mine_more": max(0, sum(load.values()) - len(mine)),
        "agents": agents,
        "offers": callback_offers_for(user=user),
        "load": load,
    }


# Reference lists of the workspace's controls, cached: departments and macros change a few times a year, the page
# is opened all day. A save or delete clears the key (cases.apps); another process (locmem cache) sees the change
# within REFERENCE_TTL seconds, every process at once with a shared cache (CACHE_URL).
REFERENCE_TTL = 60
DEPARTMENTS_KEY = "rh:ref:departments"
MACROS_KEY = "rh:ref:macros"


def department_choices() -> list[dict]:
    """Every department as ``{"pk", "name"}``, by name (the transfer control)."""
    from django.core.cache import cache

    from cases.models import Department

    rows = cache.get(DEPARTMENTS_KEY)
    if rows is None:
        rows = list(Department.objects.order_by("name").values("pk", "name"))
        cache.set(DEPARTMENTS_KEY, rows, REFERENCE_TTL)
    return rows


def macro_choices(*, department_id: int | None) -> list[dict]:
    """Active macros for a department (its own and the global ones) as ``{"pk", "title"}``, by title. The body is
    read when a macro is used (``macro_fill``), never from here."""
    from django.core.cache import cache

    from cases.models import Macro

    rows = cache.get(MACROS_KEY)
    if rows is None:
        rows = list(Macro.objects.filter(is_active=True).order_by("title", "pk").values("pk", "title", "department_id"))
        cache.set(MACROS_KEY, rows, REFERENCE_TTL)
    return [m for m in rows if m["department_id"] is None or m["department_id"] == department_id]


def reference_cache_clear(**_kwargs) -> None:
    from django.core.cache import cache

    cache.delete_many([DEPARTMENTS_KEY, MACROS_KEY])


WORKSPACE_MESSAGES = 200  # the latest messages of a conversation shown on the workspace (the poll appends newer ones)


def workspace_data(*, case: Case, user, touch_at=None) -> dict:
    """Everything the case workspace shows, with a fixed number of queries whatever the history length. Every list
    is bounded. ``case`` comes from ``case_get_for_agent(related=WORKSPACE_CASE_RELATED)`` (its callback is joined,
    so a case without one costs no query for it). Two statements of plain rows (``cases.selectors_360``): the
    customer 360 (orders, subscriptions, refunds, credits, earlier cases), and the case's conversation, timeline
    and other viewers; their JSON texts are the whole input of the panels rendered from them (``cases.panels``:
    memoised on that input, so an unchanged panel is neither decoded nor rendered again).

    ``touch_at`` (PostgreSQL; only ``cases.services.workspace.case_workspace_open`` passes it): the case-rows
    statement also upserts the viewer's row at that time, and ``viewer_written`` says whether it wrote."""
    from django.db.models import Prefetch, prefetch_related_objects
    from django.utils import timezone

    from cases import panels
    from cases.models import Callback, CallbackAttempt
    from cases.selectors_360 import (
        _loads,
        case_rows_texts,
        customer_360_texts,
        shape_viewers,
        workspace_texts_touching,
    )
    from cases.services.workspace import VIEWER_FRESH, VIEWER_TTL

    rows = {"case_id": case.pk, "viewer_id": user.pk, "messages": WORKSPACE_MESSAGES + 1}
    if touch_at is None:
        written = False
        texts = customer_360_texts(customer_id=case.customer_id, case_id=case.pk)
        messages_t, events_t, viewers_t = case_rows_texts(**rows, since=timezone.now() - VIEWER_TTL)
    else:
        texts, (messages_t, events_t, viewers_t), written = workspace_texts_touching(
            customer_id=case.customer_id,
            **rows,
            since=touch_at - VIEWER_TTL,
            now=touch_at,
            fresh=touch_at - VIEWER_FRESH,
        )
    conversation = panels.conversation(messages_t, customer_name=case.customer.name, limit=WORKSPACE_MESSAGES)
    timeline = panels.timeline(events_t)
    macros = macro_choices(department_id=case.department_id)
    try:
        callback = case.callback
    except Callback.DoesNotExist:
        callback = None
    else:
        prefetch_related_objects(
            [callback], Prefetch("dial_attempts", queryset=CallbackAttempt.objects.select_related("agent"))
        )
    return {
        "panels": panels.customer_360(texts, order_id=case.order_id),
        "conversation": conversation,
        "timeline": timeline.html,
        # the triage decision's explanation, shown under "Why it is here" (the timeline lists it again)
        "triage_explained": timeline.triage_explained,
        "macros": macros,
        "callback": callback,
        "viewers": shape_viewers(_loads(viewers_t)),
        "last_id": conversation.last_id,
        "viewer_written": written,
    }


WORKSPACE_CASE_RELATED = ("order_item", "callback")


def assignable_agents(*, case: Case) -> list[AgentProfile]:
    """Whom a supervisor can assign ``case`` to (``case_assign``'s rule: associates of its department and
    supervisors), with presence and open chat load (the roster's index-only count, ``_held_count``). Loaded on
    demand by the workspace's assign control, never with the page."""
    members = AgentProfile.departments.through.objects.filter(department_id=case.department_id).values(
        "agentprofile_id"
    )
    return list(
        AgentProfile.objects.filter(Q(role=Role.SUPERVISOR) | Q(pk__in=members))
        .select_related("user")
        .defer(*ROSTER_USER_DEFERRED)
        .annotate(chats=_held_count(Channel.CHAT))
        .order_by("presence", "user__username")
    )


def case_viewers(*, case: Case, exclude_user=None) -> list:
    from django.utils import timezone

    from cases.models import CaseViewer
    from cases.services.workspace import VIEWER_TTL

    qs = CaseViewer.objects.filter(case=case, last_seen_at__gte=timezone.now() - VIEWER_TTL).select_related("user")
    if exclude_user is not None:
        qs = qs.exclude(user=exclude_user)
    return [v.user for v in qs]


def case_messages_after(*, case: Case, after_id: int) -> list[Message]:
    """Agent view of the conversation (notes included) after a message id: the workspace chat poll."""
    return list(case.messages.filter(id__gt=after_id).select_related("author").order_by("id")[:200])


# --- Live conversation: "is there anything new for this viewer?" (cases/live.py re-checks it while waiting) --------


def live_token_customer(*, case: Case) -> str:
    """What the customer's status line depends on; the page sends it back so a change ends the wait."""
    return f"{case.status}.{case.assignee_id or 0}"


def live_token_viewers(*, user_ids) -> str:
    """Who else is viewing the workspace (the "also viewing" line), as the page last showed it."""
    return "-".join(str(pk) for pk in sorted(user_ids)) or "0"


def customer_chat_has_news(*, case_id: int, after_id: int, token: str) -> bool:
    """A public message after ``after_id`` or a changed status line (one query; notes never count)."""
    from django.db.models import Exists

    row = (
        Case.objects.filter(pk=case_id)
        .annotate(
            news=Exists(Message.objects.filter(case_id=OuterRef("pk"), kind__in=Message.PUBLIC_KINDS, id__gt=after_id))
        )
        .values_list("status", "assignee_id", "news")
        .first()
    )
    if row is None:
        return True  # gone: answer, the page's next request gets the 404
    status, assignee_id, news = row
    return news or f"{status}.{assignee_id or 0}" != token


def workspace_chat_has_news(*, case: Case, user, after_id: int, token: str) -> bool:
    """Any message (notes included) after ``after_id``, or a change in who else is viewing."""
    if Message.objects.filter(case_id=case.pk, id__gt=after_id).exists():
        return True
    from django.utils import timezone

    from cases.models import CaseViewer
    from cases.services.workspace import VIEWER_TTL

    ids = (
        CaseViewer.objects.filter(case_id=case.pk, last_seen_at__gte=timezone.now() - VIEWER_TTL)
        .exclude(user_id=user.pk)
        .values_list("user_id", flat=True)
    )
    return live_token_viewers(user_ids=ids) != token


def customer_get_for_agent(*, user, customer_id: int):
    """A customer's 360 is open to staff who can see at least one of their cases (supervisors: everyone)."""
    from customers.models import Customer

    visible = cases_visible_to_agent(user=user).filter(customer_id=customer_id)
    profile = agent_profile_of(user)
    if profile is None or not (profile.role == Role.SUPERVISOR or visible.exists()):
        raise Http404("No such customer.")
    try:
        return Customer.objects.get(pk=customer_id)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise Http404("No such customer.") from None


def customer_orders(*, customer) -> QuerySet:
    from customers.models import Order

    return Order.objects.filter(customer=customer).prefetch_related("items").order_by("-placed_at", "-id")


def customer_shipments(*, customer) -> QuerySet:
    from customers.models import Shipment

    return (
        Shipment.objects.filter(order__customer=customer)
        .select_related("order")
        .prefetch_related("scans")
        .order_by("-id")
    )
