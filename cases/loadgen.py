"""Bulk, realistic load data for benchmarks (``manage.py generate_load``).

One generator of rows, two writers: on PostgreSQL every table is streamed with ``COPY … FROM STDIN``
(psycopg 3 ``cursor.copy``), elsewhere (SQLite) rows go through ``bulk_create`` in batches. Ids are assigned
explicitly (so references and foreign keys are known without a round trip) and the sequences are reset after.

What it builds (appended to whatever is there; departments come from ``cases.demo.seed_departments``):
- agents: users + ``AgentProfile`` (associates, social care, supervisors), all ``available``, with departments;
- customers with one default address, orders with one or two items (order total = sum of its items);
- cases over every channel / intent with realistic weights, routed to the department the triage would pick,
  ``open`` of them waiting or being worked, the rest resolved or closed. An open case carries the SLA state the
  app would have kept for it (``_SlaSteadyState``): the SLA engine's own due times, and a record of every warning
  or breach point already passed — except on ``due_fraction`` of them, whose latest point is still to record,
  so they are past their next SLA check; each with a CREATED event, its first customer message and, when
  it left the queue, an ASSIGNED / status event; references ``CS-YYYY-NNNNNN`` = ``Case.make_reference(pk, year)``;
- goodwill credits spread over the agents and the last 90 days (mostly within limits, a few waiting for or
  decided by a supervisor who is never the issuer).

Not generated: shipments / scans, subscriptions, refunds, audit-log rows (the hash chain is written by the
money services one row at a time), notifications.
"""

from __future__ import annotations

import json
import random
from array import array
from bisect import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import accumulate, islice

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone

from cases.demo import seed_departments
from cases.models import (
    AgentProfile,
    Case,
    CaseEvent,
    Channel,
    Department,
    GoodwillCredit,
    Intent,
    Message,
    Priority,
    Role,
    SlaRecord,
)
from cases.services.sla import SLA_FIELDS, SlaInputs, _plan, _take_inputs, sla_policy_for, sla_prepare
from customers.models import Address, Customer, Order, OrderItem

CHUNK = 20_000
LOAD_PASSWORD = "load-pass-2026"

FIRST = "Ava Ben Chloe Dan Emma Finn Grace Hugo Isla Jack Kai Lena Mia Noah Olga Pia Quinn Ravi Sara Tom Uma Vik Wen Zoe".split()
LAST = "Adams Brown Chen Diaz Evans Fischer Garcia Hughes Ito Jones Khan Lopez Martin Nguyen Okafor Patel Rossi Smith Tanaka Weber".split()
CITIES = [
    ("Seattle", "WA", 47.6062, -122.3321),
    ("Austin", "TX", 30.2672, -97.7431),
    ("Boston", "MA", 42.3601, -71.0589),
]
CITIES += [
    ("Denver", "CO", 39.7392, -104.9903),
    ("Miami", "FL", 25.7617, -80.1918),
    ("Chicago", "IL", 41.8781, -87.6298),
]
PRODUCTS = [
    ("Kindle Paperwhite", "ereader", 139),
    ("Echo Dot", "", 49),
    ("USB-C cable", "", 12),
    ("Vitamin D 1000 IU", "pharmacy", 9),
    ("Prescription refill", "pharmacy", 35),
    ("Noise-cancelling headphones", "", 329),
    ("4K television 65in", "", 899),
    ("Laptop 14in", "", 1249),
    ("Running shoes", "", 89),
    ("Coffee beans 1kg", "", 24),
    ("Kindle Scribe", "ereader", 399),
    ("Stand mixer", "", 449),
    ("Smartphone", "", 799),
    ("Board game", "", 39),
    ("Desk lamp", "", 29),
]
CHANNEL_WEIGHTS = [
    (Channel.CHAT, 40),
    (Channel.CALLBACK, 15),
    (Channel.SOCIAL, 8),
    (Channel.PHONE, 15),
    (Channel.EMAIL, 12),
    (Channel.WEB, 10),
]
INTENT_WEIGHTS = [
    (Intent.TRACKING, 18),
    (Intent.MISSING_DELIVERED, 10),
    (Intent.LATE_DELIVERY, 12),
    (Intent.RETURN_REFUND, 18),
    (Intent.SUBSCRIPTION_BILLING, 8),
    (Intent.ACCOUNT_SECURITY, 4),
    (Intent.PHISHING_REPORT, 3),
    (Intent.SETTLEMENT_CLAIM, 3),
    (Intent.ADDRESS_CHANGE, 5),
    (Intent.PRODUCT_QUESTION, 12),
    (Intent.OTHER, 7),
]
SUBJECTS = {
    Intent.TRACKING: "Where is my package?",
    Intent.MISSING_DELIVERED: "Says delivered but nothing at the door",
    Intent.LATE_DELIVERY: "My order is late",
    Intent.RETURN_REFUND: "I want to return an item and get a refund",
    Intent.SUBSCRIPTION_BILLING: "Charged for Prime after I cancelled",
    Intent.ACCOUNT_SECURITY: "Someone changed my account password",
    Intent.PHISHING_REPORT: "Suspicious e-mail asking for my card",
    Intent.SETTLEMENT_CLAIM: "Settlement claim for my subscription",
    Intent.ADDRESS_CHANGE: "Change the delivery address",
    Intent.PRODUCT_QUESTION: "Question about my device",
    Intent.OTHER: "I need more help",
}
# First-response targets per channel (seed: 60 s ring + 1–3 min, chat within minutes, social 15–60 min, phone 5–10).
FIRST_RESPONSE = {
    Channel.CHAT: timedelta(minutes=5),
    Channel.CALLBACK: timedelta(minutes=3),
    Channel.SOCIAL: timedelta(minutes=60),
    Channel.PHONE: timedelta(minutes=10),
    Channel.EMAIL: timedelta(hours=24),
    Channel.WEB: timedelta(hours=24),
}
RESOLUTION = timedelta(hours=72)
OPEN_STATUS_WEIGHTS = [(Case.Status.NEW, 60), (Case.Status.ASSIGNED, 30), (Case.Status.WAITING_CUSTOMER, 10)]
CREDIT_REASONS = [r for r, _ in GoodwillCredit.Reason.choices]
AGENT_ROLE_DEPTS = {
    Role.ASSOCIATE: [["general", "fraud"], ["general", "pharmacy", "ereader"], ["general", "claims"], ["general"]],
    Role.SOCIAL_CARE: [["social", "general"]],
}


class _Picker:
    """Weighted choice with a precomputed cumulative table (much faster than ``random.choices`` per row)."""

    def __init__(self, rng: random.Random, weighted):
        self.rng = rng
        self.values = [v for v, _ in weighted]
        self.cum = list(accumulate(w for _, w in weighted))
        self.total = self.cum[-1]

    def __call__(self):
        return self.values[bisect(self.cum, self.rng.random() * self.total)]


@dataclass
class LoadResult:
    agents: int = 0
    customers: int = 0
    orders: int = 0
    items: int = 0
    cases: int = 0
    open_cases: int = 0
    sla_records: int = 0
    events: int = 0
    messages: int = 0
    credits: int = 0


def _next_id(model) -> int:
    return (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1


def _columns(model, names):
    return [model._meta.get_field(n).column for n in names]


class _Writer:
    """Streams rows of one table: COPY on PostgreSQL, ``bulk_create`` elsewhere."""

    def __init__(self, *, method: str, progress):
        self.method = method
        self.progress = progress

    def write(self, model, fields: list[str], rows) -> int:
        n = 0
        if self.method == "copy":
            cols = ", ".join(connection.ops.quote_name(c) for c in _columns(model, fields))
            sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({cols}) FROM STDIN"
            with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
                    if n % 5000 == 0:
                        self.progress.update(5000)
            self.progress.update(n % 5000)
            return n
        attnames = [model._meta.get_field(f).attname for f in fields]
        batch = []
        for row in rows:
            batch.append(model(**dict(zip(attnames, row, strict=True))))
            if len(batch) >= 2000:
                model.objects.bulk_create(batch)
                self.progress.update(len(batch))
                n += len(batch)
                batch = []
        if batch:
            model.objects.bulk_create(batch)
            self.progress.update(len(batch))
            n += len(batch)
        return n


def _can_defer_fk_checks() -> bool:
    """Only a superuser may switch ``session_replication_role`` (which skips the foreign-key triggers)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
    return bool(row and row[0])


def _check_foreign_keys(first_ids: dict) -> None:
    """One anti-join per foreign key over the rows just written; any dangling reference aborts the load."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model, first in first_ids.items():
            for field in model._meta.concrete_fields:
                if not field.is_relation or not field.db_constraint:
                    continue
                child, parent = qn(model._meta.db_table), qn(field.related_model._meta.db_table)
                col, target = qn(field.column), qn(field.target_field.column)
                cursor.execute(
                    f"SELECT count(*) FROM {child} c LEFT JOIN {parent} p ON p.{target} = c.{col} "
                    f"WHERE c.id >= %s AND c.{col} IS NOT NULL AND p.{target} IS NULL",
                    [first],
                )
                dangling = cursor.fetchone()[0]
                if dangling:
                    raise RuntimeError(f"{dangling} rows of {model.__name__}.{field.name} point at nothing")


class _SlaSteadyState:
    """The SLA state an open case has when the app has kept it current, computed by the SLA engine itself
    (``sla_prepare``: the due times and ``sla_next_check_at`` it would store), with its inputs given instead of
    read: the matching policy, the department's hours and holidays, the callback row (none is generated) and the
    oldest unanswered customer message (the case's one generated message, once it has a first response).

    Every warning or breach point already passed is recorded, as the sweep (or, for a target met late, the answer
    itself) would have recorded it, so ``sla_next_check_at`` is the next point still ahead and a recompute of the
    case — a claim's, a reply's — finds nothing to change. A *due* case (``due_fraction``) has its latest passed
    point not recorded yet: its ``sla_next_check_at`` is in the past and the next sweep acts on it. Not imitated:
    what the sweep did on those breaches (raise priority, notify, re-route); the records carry no actions."""

    def __init__(self, departments, now: datetime):
        self.now = now
        self.departments = {
            d.pk: (d, [(h.weekday, h.opens, h.closes) for h in d.hours.all()], [h.date for h in d.holidays.all()])
            for d in Department.objects.filter(pk__in=[d.pk for d in departments]).prefetch_related("hours", "holidays")
        }
        # Resolved here, before the cases are streamed: no other statement can run during a COPY.
        self.policies = {}
        for channel in Channel.values:
            for priority in Priority.values:
                for pk in self.departments:
                    case = Case(channel=channel, priority=priority, department_id=pk)
                    policy = sla_policy_for(case=case)
                    self.policies[(channel, priority, pk)] = policy if policy.pk else None

    def _case(self, *, channel, priority, department_id, status, created, first_response_at, paused_at, recorded):
        department, hours, holidays = self.departments[department_id]
        case = Case(
            channel=channel,
            priority=priority,
            department_id=department_id,
            status=status,
            created_at=created,
            first_response_at=first_response_at,
            sla_paused_at=paused_at,
            sla_paused_seconds=0,
        )
        Case.department.field.set_cached_value(case, department)
        key = (channel, priority, department_id)
        case._sla_inputs = SlaInputs(
            key=key,
            policy=self.policies[key],
            hours=hours,
            holidays=holidays,
            recorded=recorded,
            callback=None,
            awaiting_reply_since=created if first_response_at is not None else None,
        )
        return case

    def points(self, **case):
        """The case's warning and breach points as the engine plans them now."""
        c = self._case(**case, recorded=[])
        return _plan(c, self.now, _take_inputs(c)).points

    def latest_running_passed(self, points):
        passed = [p for p in points if p.running and p.at <= self.now]
        return max(passed, key=lambda p: p.at) if passed else None

    def settle(self, points, *, due: bool, **case):
        """(the fields ``sla_prepare`` stores, the points recorded as passed) for the case ``points`` belong to."""
        held_back = self.latest_running_passed(points) if due else None
        recorded = [p for p in points if p.at <= self.now and p is not held_back]
        c = self._case(**case, recorded=[p.key for p in recorded])
        update = sla_prepare(case=c, now=self.now)
        if update.late:  # every target met late is among the recorded points: this would be a bug here
            raise RuntimeError(f"generate_load left SLA points unrecorded: {update.late}")
        return {name: getattr(c, name) for name in SLA_FIELDS}, recorded


def generate_load(
    *,
    customers: int = 100,
    orders: int = 300,
    cases: int = 500,
    open_cases: int = 100,
    credits: int = 200,
    agents: int = 12,
    due_fraction: float = 0.01,
    seed: int = 2026,
    method: str | None = None,
    now: datetime | None = None,
    progress_factory=None,
) -> LoadResult:
    """Append the requested numbers of rows. ``open_cases`` ≤ ``cases``; cases/orders need customers."""
    if min(customers, orders, cases, open_cases, credits, agents) < 0:
        raise ValueError("Counts must not be negative.")
    if open_cases > cases:
        raise ValueError("--open cannot exceed --cases.")
    if (orders or cases or credits) and not customers:
        raise ValueError("Orders, cases and credits need at least one customer.")
    if credits and agents < 2:
        raise ValueError("Credits need at least two agents (issuer and a different approver).")
    if cases - open_cases and not agents:
        raise ValueError("Worked cases need at least one agent.")
    method = method or ("copy" if connection.vendor == "postgresql" else "orm")
    if method == "copy" and connection.vendor != "postgresql":
        raise ValueError("COPY needs PostgreSQL.")
    if progress_factory is None:
        from tqdm import tqdm

        def progress_factory(desc, total):
            return tqdm(desc=desc, total=total, unit="rows", unit_scale=True, dynamic_ncols=True)

    now = now or timezone.now()
    rng = random.Random(seed)
    result = LoadResult()

    def run(desc, total, model, fields, rows):
        bar = progress_factory(desc, total)
        try:
            return _Writer(method=method, progress=bar).write(model, fields, rows)
        finally:
            bar.close()

    departments = seed_departments()
    dept_id = {slug: d.pk for slug, d in departments.items()}

    with transaction.atomic():
        # --- agents --------------------------------------------------------------------------------------------
        agent_ids, agent_roles, supervisor_ids, associate_ids = [], [], [], []
        if agents:
            User = get_user_model()
            password = make_password(LOAD_PASSWORD)
            tag = f"{now:%Y%m%d%H%M%S}{rng.randrange(1000):03d}"
            n_sup = max(2, agents // 10) if agents >= 4 else min(agents, 2)
            n_social = max(1, agents // 10) if agents - n_sup > 1 else 0
            roles = [Role.SUPERVISOR] * n_sup + [Role.SOCIAL_CARE] * n_social
            roles += [Role.ASSOCIATE] * (agents - len(roles))
            users = User.objects.bulk_create(
                User(
                    username=f"load{tag}-{i:05d}",
                    first_name=rng.choice(FIRST),
                    last_name=rng.choice(LAST),
                    email=f"load{tag}-{i:05d}@example.com",
                    password=password,
                    is_staff=role == Role.SUPERVISOR,
                )
                for i, role in enumerate(roles)
            )
            if any(u.pk is None for u in users):  # SQLite before 3.35 cannot return ids
                users = list(User.objects.filter(username__startswith=f"load{tag}-").order_by("username"))
            profiles = AgentProfile.objects.bulk_create(
                AgentProfile(user=u, role=role, presence=AgentProfile.Presence.AVAILABLE, presence_changed_at=now)
                for u, role in zip(users, roles, strict=True)
            )
            if any(p.pk is None for p in profiles):
                profiles = list(AgentProfile.objects.filter(user__in=users).order_by("user__username"))
            through = AgentProfile.departments.through
            links = []
            for i, (p, role) in enumerate(zip(profiles, roles, strict=True)):
                slugs = (
                    list(dept_id)
                    if role == Role.SUPERVISOR
                    else AGENT_ROLE_DEPTS[role][i % len(AGENT_ROLE_DEPTS[role])]
                )
                links += [through(agentprofile_id=p.pk, department_id=dept_id[s]) for s in slugs]
            through.objects.bulk_create(links)
            groups = {g.name: g.pk for g in Group.objects.filter(name__in=[r.value for r in Role])}
            user_groups = User.groups.through
            user_groups.objects.bulk_create(
                user_groups(user_id=u.pk, group_id=groups[role])
                for u, role in zip(users, roles, strict=True)
                if role in groups
            )
            for u, role in zip(users, roles, strict=True):
                agent_ids.append(u.pk)
                agent_roles.append(role)
                (supervisor_ids if role == Role.SUPERVISOR else associate_ids).append(u.pk)
            if not associate_ids:
                associate_ids = list(supervisor_ids)
            result.agents = agents

        # --- customers + addresses -----------------------------------------------------------------------------
        cust0, addr0 = _next_id(Customer), _next_id(Address)
        fast_fk = method == "copy" and _can_defer_fk_checks()
        if fast_fk:
            # Foreign keys are checked once, set-based, after the load (_check_foreign_keys) instead of one deferred
            # trigger call per row at COMMIT (minutes at 1,000,000 cases). CHECK and UNIQUE constraints stay on.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")

        def customer_rows():
            for k in range(customers):
                cid = cust0 + k
                first, last = rng.choice(FIRST), rng.choice(LAST)
                phone = f"+1{rng.randrange(200, 999)}555{rng.randrange(10000):04d}" if rng.random() < 0.8 else ""
                handle = f"@{first.lower()}{last.lower()}{cid}" if rng.random() < 0.2 else ""
                created = now - timedelta(days=rng.uniform(30, 3000))
                yield (
                    cid,
                    f"{first} {last}",
                    f"{first.lower()}.{last.lower()}.{cid}@example.com",
                    phone,
                    handle,
                    created,
                )

        result.customers = run(
            "customers",
            customers,
            Customer,
            ["id", "name", "email", "phone", "social_handle", "created_at"],
            customer_rows(),
        )

        def address_rows():
            for k in range(customers):
                city, region, lat, lon = rng.choice(CITIES)
                yield (
                    addr0 + k, cust0 + k, f"{rng.randrange(1, 9999)} Main Street", "", city, region,
                    f"{rng.randrange(10000, 99999)}", "US",
                    Decimal(f"{lat + rng.uniform(-0.2, 0.2):.6f}"), Decimal(f"{lon + rng.uniform(-0.2, 0.2):.6f}"), True,
                )  # fmt: skip

        run(
            "addresses", customers, Address,
            ["id", "customer", "line1", "line2", "city", "region", "postal_code", "country", "latitude", "longitude", "is_default"],
            address_rows(),
        )  # fmt: skip

        # --- orders + items (order i's items are known up front: item0 + 2*(i-order0) [+1]) ----------------------
        order0, item0 = _next_id(Order), _next_id(OrderItem)
        order_customer = array("l")
        order_first_item = array("l")
        order_placed = []
        items_buffer: list[tuple] = []
        item_cents = array("l")  # unit price in cents of item item0 + i, and its department hint
        item_hint = bytearray()
        hints = ["", "pharmacy", "ereader"]

        def order_rows():
            next_item = item0
            for k in range(orders):
                oid = order0 + k
                cid = cust0 + int(customers * rng.random() ** 1.6)  # some customers order a lot more than others
                placed = now - timedelta(days=rng.uniform(0, 365), seconds=rng.randrange(86400))
                total = Decimal("0.00")
                order_first_item.append(next_item)
                for _ in range(1 if rng.random() < 0.6 else 2):
                    title, hint, price = rng.choice(PRODUCTS)
                    qty = 1 if rng.random() < 0.85 else 2
                    unit = Decimal(price) + Decimal(rng.randrange(0, 100)) / 100
                    total += unit * qty
                    items_buffer.append(
                        (next_item, oid, f"SKU-{abs(hash(title)) % 10**8:08d}", title, qty, unit, "USD", hint)
                    )
                    next_item += 1
                order_customer.append(cid)
                order_placed.append(placed)
                r = rng.random()
                status = "delivered" if r < 0.7 else "shipped" if r < 0.85 else "placed" if r < 0.95 else "cancelled"
                number = f"11{oid % 10}-{oid:07d}-{(oid * 7919) % 10**7:07d}"
                yield (oid, cid, number, placed, status, addr0 + (cid - cust0), total, "USD")

        item_fields = ["id", "order", "sku", "title", "quantity", "unit_price", "currency", "department_hint"]
        order_fields = ["id", "customer", "number", "placed_at", "status", "shipping_address", "total", "currency"]
        bar_items_total = 0
        order_rows_gen = order_rows()
        for start in range(0, orders, CHUNK):
            n = min(CHUNK, orders - start)
            items_buffer.clear()
            result.orders += run(f"orders {start + n:,}/{orders:,}", n, Order, order_fields, islice(order_rows_gen, n))
            for it in items_buffer:
                item_cents.append(int(it[5] * 100))
                item_hint.append(hints.index(it[7]))
            bar_items_total += run("  items", len(items_buffer), OrderItem, item_fields, iter(list(items_buffer)))
        result.items = bar_items_total
        item_count_of_order = [
            (order_first_item[k + 1] if k + 1 < orders else item0 + result.items) - order_first_item[k]
            for k in range(orders)
        ]

        # --- cases ---------------------------------------------------------------------------------------------
        case0, event0, message0 = _next_id(Case), _next_id(CaseEvent), _next_id(Message)
        pick_channel, pick_intent = _Picker(rng, CHANNEL_WEIGHTS), _Picker(rng, INTENT_WEIGHTS)
        pick_open = _Picker(rng, OPEN_STATUS_WEIGHTS)
        # Open cases are spread over the ids (not all at the end), like a real queue of recent and older work.
        open_flags = bytearray(cases)
        for idx in rng.sample(range(cases), open_cases):
            open_flags[idx] = 1
        case_customer = array("l")
        case_created = []
        case_status = []
        case_assignee = array("l")
        case_fields = [
            "id", "reference", "customer", "order", "order_item", "channel", "intent", "status", "priority", "department",
            "assignee", "subject", "value_at_stake", "currency", "escalation_reasons", "triage", "created_at", "updated_at",
            "queued_at", "first_response_at", "resolved_at", "resolution_reason",
            *(name.removesuffix("_id") for name in SLA_FIELDS),
        ]  # fmt: skip
        sla_state = _SlaSteadyState(departments.values(), now)
        sla_records = []  # (case, target, level, due_at, point_at, recorded_at, policy, department, channel, priority)
        resolutions = [r for r, _ in Case.ResolutionReason.choices if r not in ("duplicate", "automated")]

        def case_rows():
            for k in range(cases):
                cid_case = case0 + k
                is_open = bool(open_flags[k])
                channel, intent = pick_channel(), pick_intent()
                order_id = item_id = None
                value = Decimal("0.00")
                hint = ""
                if orders and intent not in (Intent.PHISHING_REPORT, Intent.ACCOUNT_SECURITY) and rng.random() < 0.75:
                    ok = rng.randrange(orders)
                    order_id, customer_id = order0 + ok, order_customer[ok]
                    item_id = order_first_item[ok] + rng.randrange(item_count_of_order[ok])
                    value = Decimal(item_cents[item_id - item0]) / 100
                    hint = hints[item_hint[item_id - item0]]
                    created_floor = order_placed[ok]
                else:
                    customer_id = cust0 + rng.randrange(customers)
                    created_floor = now - timedelta(days=365)
                if intent in (Intent.PHISHING_REPORT, Intent.ACCOUNT_SECURITY):
                    dept, priority = "fraud", Priority.URGENT
                elif channel == Channel.SOCIAL:
                    dept, priority = "social", Priority.HIGH
                elif intent == Intent.SETTLEMENT_CLAIM:
                    dept, priority = "claims", Priority.NORMAL
                elif hint in ("pharmacy", "ereader") and intent == Intent.PRODUCT_QUESTION:
                    dept, priority = hint, Priority.NORMAL
                else:
                    dept, priority = "general", Priority.NORMAL if rng.random() < 0.85 else Priority.LOW
                reasons = []
                if value > 500:
                    priority = min(priority, Priority.HIGH)
                    reasons.append({"code": "high_value", "value": str(value), "threshold": "500.00"})
                if rng.random() < 0.35:
                    reasons.append({"code": "sentiment", "label": rng.choice(["frustration", "anger", "urgency"])})
                if rng.random() < 0.1:
                    reasons.append({"code": "repeated_representative", "count": 2})
                if not reasons:
                    reasons.append({"code": "customer_request"})
                triage = {"intent": intent, "confidence": round(rng.uniform(0.55, 0.99), 2), "decision": "escalate"}
                fr_target = FIRST_RESPONSE[channel]
                if is_open:
                    due = rng.random() < due_fraction
                    status = pick_open()
                    while due and status == Case.Status.WAITING_CUSTOMER:  # a paused clock passes no point
                        status = pick_open()
                    for _ in range(50):  # a due case needs a point already passed (nearly every draw has one)
                        created = now - timedelta(seconds=rng.uniform(0, 48 * 3600))
                        first_response_at = (
                            None if status == Case.Status.NEW else created + fr_target * rng.uniform(0.2, 1.2)
                        )
                        if first_response_at and first_response_at > now:
                            first_response_at = now
                        paused = (
                            now - timedelta(minutes=rng.uniform(1, 120))
                            if status == Case.Status.WAITING_CUSTOMER
                            else None
                        )
                        shape = {
                            "channel": channel,
                            "priority": priority,
                            "department_id": dept_id[dept],
                            "status": status,
                            "created": created,
                            "first_response_at": first_response_at,
                            "paused_at": paused,
                        }
                        points = sla_state.points(**shape)
                        if not due or sla_state.latest_running_passed(points) is not None:
                            break
                    sla, recorded = sla_state.settle(points, due=due, **shape)
                    for point in recorded:
                        sla_records.append(
                            (cid_case, point.target, point.level, point.due, point.at,
                             point.at if point.running else first_response_at, sla["sla_policy_id"], dept_id[dept],
                             channel, priority)
                        )  # fmt: skip
                    queued = created
                    assignee = None if status == Case.Status.NEW else rng.choice(associate_ids)
                    resolved_at, reason = None, ""
                    updated = max(created, first_response_at or created)
                else:
                    status = Case.Status.RESOLVED if rng.random() < 0.3 else Case.Status.CLOSED
                    lo = max(created_floor, now - timedelta(days=365))
                    span = max((now - timedelta(hours=1) - lo).total_seconds(), 60.0)
                    created = lo + timedelta(seconds=rng.uniform(0, span))
                    queued = created
                    first_response_at = created + fr_target * rng.uniform(0.1, 1.5)
                    resolved_at = min(first_response_at + timedelta(minutes=rng.uniform(2, 3 * 24 * 60)), now)
                    first_response_at = min(first_response_at, resolved_at)
                    assignee = rng.choice(associate_ids)
                    reason = rng.choice(resolutions)
                    sla = {
                        "sla_policy_id": None,
                        "sla_paused_at": None,
                        "sla_paused_seconds": 0,
                        "first_response_due_at": created + fr_target,
                        "next_reply_due_at": None,
                        "resolution_due_at": created + RESOLUTION,
                        "sla_due_at": None,
                        "sla_next_check_at": None,
                    }
                    updated = resolved_at
                case_customer.append(customer_id)
                case_created.append(created)
                case_status.append(status)
                case_assignee.append(assignee or 0)
                yield (
                    cid_case, Case.make_reference(cid_case, created.year), customer_id, order_id, item_id, channel,
                    intent, status, priority, dept_id[dept], assignee, SUBJECTS[intent], value, "USD",
                    json.dumps(reasons), json.dumps(triage), created, updated, queued, first_response_at, resolved_at,
                    reason, *(sla[name] for name in SLA_FIELDS),
                )  # fmt: skip

        if method == "orm":  # bulk_create takes Python objects for JSON fields, not JSON text
            case_iter = ((*row[:14], json.loads(row[14]), json.loads(row[15]), *row[16:]) for row in case_rows())
        else:
            case_iter = case_rows()
        result.cases = run("cases", cases, Case, case_fields, case_iter)
        result.open_cases = open_cases

        # The open cases' passed SLA points, recorded as the sweep would have (``_SlaSteadyState``).
        record0 = _next_id(SlaRecord)
        no_actions = "[]" if method == "copy" else []
        record_fields = [
            "id", "case", "target", "level", "due_at", "point_at", "recorded_at", "policy", "department", "channel",
            "priority", "actions", "supervisor_notified",
        ]  # fmt: skip
        result.sla_records = run(
            "SLA records",
            len(sla_records),
            SlaRecord,
            record_fields,
            ((record0 + k, *row, no_actions, False) for k, row in enumerate(sla_records)),
        )
        sla_records.clear()  # their memory, before the events and messages

        def event_rows():
            eid = event0
            for k in range(cases):
                created, status, assignee = case_created[k], case_status[k], case_assignee[k] or None
                data = {"channel": "generated", "source": "generate_load"}
                yield (eid, case0 + k, "created", None, "", "new", data, True, created)
                eid += 1
                if status != Case.Status.NEW:
                    yield (eid, case0 + k, "assigned", assignee, "", str(assignee), {}, False, created)
                    eid += 1
                    if status != Case.Status.ASSIGNED:
                        yield (eid, case0 + k, "status_changed", assignee, "assigned", status, {}, True, created)
                        eid += 1

        n_events = sum(1 + (s != "new") + (s not in ("new", "assigned")) for s in case_status)
        event_fields = ["id", "case", "type", "actor", "old_value", "new_value", "data", "is_public", "created_at"]
        if method == "copy":
            ev_iter = ((*r[:6], json.dumps(r[6]), *r[7:]) for r in event_rows())
        else:
            ev_iter = event_rows()
        result.events = run("case events", n_events, CaseEvent, event_fields, ev_iter)

        def message_rows():
            for k in range(cases):
                yield (
                    message0 + k,
                    case0 + k,
                    "customer",
                    None,
                    "Hello, I need help with my order, please.",
                    case_created[k],
                )

        result.messages = run(
            "messages", cases, Message, ["id", "case", "kind", "author", "body", "created_at"], message_rows()
        )

        # --- goodwill credits ----------------------------------------------------------------------------------
        credit0 = _next_id(GoodwillCredit)
        issuers = [(a, r) for a, r in zip(agent_ids, agent_roles, strict=True) if r != Role.SUPERVISOR] or list(
            zip(agent_ids, agent_roles, strict=True)
        )

        def credit_rows():
            for k in range(credits):
                issuer, role = rng.choice(issuers)
                created = now - timedelta(days=rng.uniform(0, 90))
                if cases and rng.random() < 0.6:
                    ck = rng.randrange(cases)
                    case_id, customer_id = case0 + ck, case_customer[ck]
                else:
                    case_id, customer_id = None, cust0 + rng.randrange(customers)
                r = rng.random()
                limit = 50 if role == Role.ASSOCIATE else 200
                if r < 0.05:  # just under the limit: what the anomaly flags look for
                    amount = Decimal(limit) - Decimal(rng.randrange(1, 300)) / 100
                else:
                    amount = Decimal(rng.randrange(500, limit * 100)) / 100
                status, decided_by, decided_at = "approved", None, created
                s = rng.random()
                if s < 0.03:
                    status, decided_at, amount = "pending", None, Decimal(limit + rng.randrange(1, 200))
                elif s < 0.07:
                    approver = rng.choice([x for x in supervisor_ids if x != issuer] or supervisor_ids)
                    status = "approved" if s < 0.06 else "rejected"
                    decided_by, decided_at = approver, created + timedelta(minutes=rng.uniform(1, 600))
                    amount = Decimal(limit + rng.randrange(1, 200))
                yield (
                    credit0 + k, case_id, customer_id, "credit", None, amount, "USD", rng.choice(CREDIT_REASONS),
                    "Goodwill for the inconvenience.", issuer, role, status, decided_by, decided_at,
                    "" if decided_by is None else "Reviewed.", created,
                )  # fmt: skip

        credit_fields = [
            "id", "case", "customer", "kind", "reverses", "amount", "currency", "reason_code", "note", "issued_by",
            "issued_by_role", "status", "decided_by", "decided_at", "decision_note", "created_at",
        ]  # fmt: skip
        result.credits = run("credits", credits, GoodwillCredit, credit_fields, credit_rows())

        if fast_fk:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = origin")
            _check_foreign_keys(
                {
                    Customer: cust0, Address: addr0, Order: order0, OrderItem: item0, Case: case0,
                    SlaRecord: record0, CaseEvent: event0, Message: message0, GoodwillCredit: credit0,
                }
            )  # fmt: skip

        # Explicit ids were written: move the sequences past them so the next ordinary insert does not collide.
        reset = connection.ops.sequence_reset_sql(
            no_style(), [Customer, Address, Order, OrderItem, Case, SlaRecord, CaseEvent, Message, GoodwillCredit]
        )
        with connection.cursor() as cursor:
            for sql in reset:
                cursor.execute(sql)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Customer, Address, Order, OrderItem, Case, SlaRecord, CaseEvent, Message, GoodwillCredit):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return result
