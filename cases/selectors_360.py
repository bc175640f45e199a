"""The case workspace's reads as plain rows, two statements: the customer 360 (orders with items, shipments and
carrier scans, subscriptions with their latest charges, refunds, goodwill credits and earlier cases of one customer)
and the case's own lists (latest messages, latest events, other viewers).

They were twelve ORM queries, each compiled and turned into model instances on every page view; most of the page's
time was that Python work, not PostgreSQL (docs/BENCHMARKS.md, "Session 3 — workspace"). Here PostgreSQL builds the
nested lists as JSON (every list bounded as before, charges now too), the SQL is built once from the models' tables
and columns and prepared per connection, and Python turns the rows into plain dicts with the display values the
template shows (labels of choices, the Delivered scan's distance from the address). Always fresh: nothing here is
cached. Other databases than PostgreSQL (the embedded SQLite setup) read the same lists through the ORM.
"""

import functools
import json
import math
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from django.db import connection

from cases import rawrows

ORDERS = 20  # the customer's latest orders (each with all its items, shipments and scans)
SUBSCRIPTIONS = 5
CHARGES = 6  # latest charges shown per subscription; the rest is counted ("and N more")
REFUNDS = 20
CREDITS = 20
EARLIER_CASES = 10


def _col(model, name: str) -> str:
    return f'"{model._meta.get_field(name).column}"'


@functools.cache
def customer_360_sql() -> str:
    """The statement, built from the models once per process (table and column names are never typed twice)."""
    from django.contrib.auth import get_user_model

    from cases.models import Case, GoodwillCredit, Refund
    from customers.models import Address, CarrierScan, Order, OrderItem, Shipment, Subscription, SubscriptionCharge

    def t(model):
        return f'"{model._meta.db_table}"'

    User = get_user_model()
    c = _col
    # json (not jsonb) would be decoded by psycopg with floats: the lists are sent as text and decoded here with
    # Decimal numbers, so money prints exactly as the model fields did.
    return f"""
SELECT x.orders::text, x.subscriptions::text, x.refunds::text, x.credits::text, x.earlier::text FROM (SELECT
 (SELECT COALESCE(json_agg(o ORDER BY o.placed_at DESC, o.id DESC), '[]') FROM (
    SELECT o.{c(Order, "id")} AS id, o.{c(Order, "number")} AS number, o.{c(Order, "status")} AS status,
           o.{c(Order, "total")} AS total, o.{c(Order, "currency")} AS currency,
           o.{c(Order, "placed_at")} AS placed_at,
           a.{c(Address, "latitude")} AS lat, a.{c(Address, "longitude")} AS lon,
           (SELECT COALESCE(json_agg(json_build_array(i.{c(OrderItem, "title")}, i.{c(OrderItem, "quantity")},
                                                      i.{c(OrderItem, "unit_price")}) ORDER BY i.{c(OrderItem, "id")}),
                            '[]')
              FROM {t(OrderItem)} i WHERE i.{c(OrderItem, "order")} = o.{c(Order, "id")}) AS items,
           (SELECT COALESCE(json_agg(json_build_array(
                      sh.{c(Shipment, "direction")}, sh.{c(Shipment, "carrier")}, sh.{c(Shipment, "tracking_number")},
                      sh.{c(Shipment, "status")},
                      (SELECT COALESCE(json_agg(json_build_array(
                                 sc.{c(CarrierScan, "occurred_at")}, sc.{c(CarrierScan, "kind")},
                                 sc.{c(CarrierScan, "location")}, sc.{c(CarrierScan, "latitude")},
                                 sc.{c(CarrierScan, "longitude")}, sc.{c(CarrierScan, "photo_ref")})
                               ORDER BY sc.{c(CarrierScan, "occurred_at")}, sc.{c(CarrierScan, "id")}), '[]')
                         FROM {t(CarrierScan)} sc WHERE sc.{c(CarrierScan, "shipment")} = sh.{c(Shipment, "id")}))
                    ORDER BY sh.{c(Shipment, "id")}), '[]')
              FROM {t(Shipment)} sh WHERE sh.{c(Shipment, "order")} = o.{c(Order, "id")}) AS shipments
      FROM {t(Order)} o LEFT JOIN {t(Address)} a ON a.{c(Address, "id")} = o.{c(Order, "shipping_address")}
     WHERE o.{c(Order, "customer")} = %(customer)s
     ORDER BY o.{c(Order, "placed_at")} DESC, o.{c(Order, "id")} DESC
     LIMIT {ORDERS}) o),
 (SELECT COALESCE(json_agg(s ORDER BY s.started_at DESC, s.id DESC), '[]') FROM (
    SELECT s.{c(Subscription, "id")} AS id, s.{c(Subscription, "plan")} AS plan,
           s.{c(Subscription, "status")} AS status, s.{c(Subscription, "price")} AS price,
           s.{c(Subscription, "currency")} AS currency, s.{c(Subscription, "started_at")} AS started_at,
           s.{c(Subscription, "cancelled_at")} AS cancelled_at,
           (SELECT COUNT(*) FROM {t(SubscriptionCharge)} ch
             WHERE ch.{c(SubscriptionCharge, "subscription")} = s.{c(Subscription, "id")}) AS charge_count,
           (SELECT COALESCE(json_agg(json_build_array(ch.charged_at, ch.amount, ch.currency)
                                     ORDER BY ch.charged_at DESC, ch.id DESC), '[]')
              FROM (SELECT ch.{c(SubscriptionCharge, "id")} AS id, ch.{c(SubscriptionCharge, "charged_at")} AS charged_at,
                           ch.{c(SubscriptionCharge, "amount")} AS amount,
                           ch.{c(SubscriptionCharge, "currency")} AS currency
                      FROM {t(SubscriptionCharge)} ch
                     WHERE ch.{c(SubscriptionCharge, "subscription")} = s.{c(Subscription, "id")}
                     ORDER BY ch.{c(SubscriptionCharge, "charged_at")} DESC, ch.{c(SubscriptionCharge, "id")} DESC
                     LIMIT {CHARGES}) ch) AS charges
      FROM {t(Subscription)} s
     WHERE s.{c(Subscription, "customer")} = %(customer)s
     ORDER BY s.{c(Subscription, "started_at")} DESC, s.{c(Subscription, "id")} DESC
     LIMIT {SUBSCRIPTIONS}) s),
 (SELECT COALESCE(json_agg(json_build_array(r.title, r.amount, r.status) ORDER BY r.created_at DESC, r.id DESC), '[]')
    FROM (SELECT r.{c(Refund, "id")} AS id, r.{c(Refund, "created_at")} AS created_at, i.{c(OrderItem, "title")} AS title,
                 r.{c(Refund, "amount")} AS amount, r.{c(Refund, "status")} AS status
            FROM {t(Refund)} r LEFT JOIN {t(OrderItem)} i ON i.{c(OrderItem, "id")} = r.{c(Refund, "order_item")}
           WHERE r.{c(Refund, "customer")} = %(customer)s
           ORDER BY r.{c(Refund, "created_at")} DESC, r.{c(Refund, "id")} DESC
           LIMIT {REFUNDS}) r),
 (SELECT COALESCE(json_agg(json_build_array(g.kind, g.reason_code, g.username, g.amount, g.status)
                           ORDER BY g.created_at DESC, g.id DESC), '[]')
    FROM (SELECT g.{c(GoodwillCredit, "id")} AS id, g.{c(GoodwillCredit, "created_at")} AS created_at,
                 g.{c(GoodwillCredit, "kind")} AS kind, g.{c(GoodwillCredit, "reason_code")} AS reason_code,
                 u.{c(User, User.USERNAME_FIELD)} AS username, g.{c(GoodwillCredit, "amount")} AS amount,
                 g.{c(GoodwillCredit, "status")} AS status
            FROM {t(GoodwillCredit)} g JOIN {t(User)} u ON u.{c(User, "id")} = g.{c(GoodwillCredit, "issued_by")}
           WHERE g.{c(GoodwillCredit, "customer")} = %(customer)s
           ORDER BY g.{c(GoodwillCredit, "created_at")} DESC, g.{c(GoodwillCredit, "id")} DESC
           LIMIT {CREDITS}) g),
 (SELECT COALESCE(json_agg(json_build_array(e.reference, e.subject, e.status) ORDER BY e.created_at DESC, e.id DESC),
                  '[]')
    FROM (SELECT e.{c(Case, "id")} AS id, e.{c(Case, "created_at")} AS created_at, e.{c(Case, "reference")} AS reference,
                 e.{c(Case, "subject")} AS subject, e.{c(Case, "status")} AS status
            FROM {t(Case)} e
           WHERE e.{c(Case, "customer")} = %(customer)s AND e.{c(Case, "id")} <> %(case)s
           ORDER BY e.{c(Case, "created_at")} DESC, e.{c(Case, "id")} DESC
           LIMIT {EARLIER_CASES}) e)
) x (orders, subscriptions, refunds, credits, earlier)
"""


@functools.cache
def _labels():
    from cases.models import Case, GoodwillCredit, Refund
    from customers.models import CarrierScan, Order, Shipment, Subscription

    def d(choices):
        return dict(choices.choices)

    return {
        "order": d(Order.Status),
        "direction": d(Shipment.Direction),
        "shipment": d(Shipment.Status),
        "scan": d(CarrierScan.Kind),
        "subscription": d(Subscription.Status),
        "refund": d(Refund.Status),
        "credit_kind": d(GoodwillCredit.Kind),
        "credit_reason": d(GoodwillCredit.Reason),
        "credit_status": d(GoodwillCredit.Status),
        "case": d(Case.Status),
    }


def _when(value):
    return datetime.fromisoformat(value) if value else None


def _dec(value):
    return None if value is None else Decimal(value)


def _loads(value):
    if isinstance(value, str | bytes):
        return json.loads(value, parse_float=Decimal)
    return value


def distance_m(lat1, lon1, lat2, lon2) -> int | None:
    """Metres between two points (haversine), or None when one is missing."""
    if None in (lat1, lon1, lat2, lon2):
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (float(lat1), float(lon1), float(lat2), float(lon2)))
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return round(6_371_000 * 2 * math.asin(math.sqrt(a)))


def customer_360(*, customer_id: int, case_id: int) -> dict:
    """Orders, subscriptions, refunds, credits and earlier cases (other than ``case_id``) of one customer: one
    query on PostgreSQL. Returns plain dicts (see the module docstring); the template reads labels, not model
    methods. Other databases (the embedded SQLite setup) read the same rows through the ORM."""
    if connection.vendor != "postgresql":
        return _shape(*customer_360_rows_orm(customer_id=customer_id, case_id=case_id))
    return _shape(*(_loads(v) for v in customer_360_texts(customer_id=customer_id, case_id=case_id)))


def customer_360_texts(*, customer_id: int, case_id: int) -> tuple[str, str, str, str, str]:
    """The five lists as the statement's JSON texts (orders, subscriptions, refunds, credits, earlier cases): the
    whole input of the rendered 360 panels (``cases.panels``), decoded only when they are rendered. Other databases:
    the ORM's rows in the same format (``customer_360_rows_orm``, numbers as strings)."""
    if connection.vendor != "postgresql":
        rows = customer_360_rows_orm(customer_id=customer_id, case_id=case_id)
        return tuple(json.dumps(r, default=str) for r in rows)
    with rawrows.cursor() as cur:  # prepared: planned once per connection (the plan took longer than the run)
        cur.execute(customer_360_sql(), {"customer": customer_id, "case": case_id})
        return tuple(cur.fetchone())


def customer_360_rows_orm(*, customer_id: int, case_id: int) -> tuple[list, list, list, list, list]:
    """The statement's five lists through the ORM, in the same shape and order (SQLite; and the tests' reference)."""
    from django.db.models import Count, Prefetch

    from cases.models import Case, GoodwillCredit, Refund
    from customers.models import CarrierScan, Order, Shipment, Subscription

    def iso(value):
        return value.isoformat() if value else None

    orders = []
    for o in (
        Order.objects.filter(customer_id=customer_id)
        .select_related("shipping_address")
        .prefetch_related(
            "items",
            Prefetch(
                "shipments",
                queryset=Shipment.objects.order_by("id").prefetch_related(
                    Prefetch("scans", queryset=CarrierScan.objects.order_by("occurred_at", "id"))
                ),
            ),
        )
        .order_by("-placed_at", "-id")[:ORDERS]
    ):
        address = o.shipping_address
        orders.append(
            {
                "id": o.pk,
                "number": o.number,
                "status": o.status,
                "total": o.total,
                "currency": o.currency,
                "placed_at": iso(o.placed_at),
                "lat": address.latitude if address else None,
                "lon": address.longitude if address else None,
                "items": [[i.title, i.quantity, i.unit_price] for i in sorted(o.items.all(), key=lambda i: i.pk)],
                "shipments": [
                    [
                        sh.direction,
                        sh.carrier,
                        sh.tracking_number,
                        sh.status,
                        [
                            [iso(sc.occurred_at), sc.kind, sc.location, sc.latitude, sc.longitude, sc.photo_ref]
                            for sc in sh.scans.all()
                        ],
                    ]
                    for sh in o.shipments.all()
                ],
            }
        )
    subscriptions = []
    for s in (
        Subscription.objects.filter(customer_id=customer_id)
        .annotate(charge_count=Count("charges"))
        .order_by("-started_at", "-id")[:SUBSCRIPTIONS]
    ):
        charges = s.charges.order_by("-charged_at", "-id")[:CHARGES]
        subscriptions.append(
            {
                "id": s.pk,
                "plan": s.plan,
                "status": s.status,
                "price": s.price,
                "currency": s.currency,
                "started_at": iso(s.started_at),
                "cancelled_at": iso(s.cancelled_at),
                "charge_count": s.charge_count,
                "charges": [[iso(ch.charged_at), ch.amount, ch.currency] for ch in charges],
            }
        )
    refunds = [
        [r.order_item.title if r.order_item_id else None, r.amount, r.status]
        for r in Refund.objects.filter(customer_id=customer_id)
        .select_related("order_item")
        .order_by("-created_at", "-id")[:REFUNDS]
    ]
    credits = [
        [g.kind, g.reason_code, g.issued_by.get_username(), g.amount, g.status]
        for g in GoodwillCredit.objects.filter(customer_id=customer_id)
        .select_related("issued_by")
        .order_by("-created_at", "-id")[:CREDITS]
    ]
    earlier = [
        [e.reference, e.subject, e.status]
        for e in Case.objects.filter(customer_id=customer_id)
        .exclude(pk=case_id)
        .only("reference", "subject", "status", "created_at")
        .order_by("-created_at", "-id")[:EARLIER_CASES]
    ]
    return orders, subscriptions, refunds, credits, earlier


def _shape(orders_j, subs_j, refunds_j, credits_j, earlier_j) -> dict:
    L = _labels()
    orders = []
    for o in orders_j:
        lat, lon = o["lat"], o["lon"]
        shipments = []
        for direction, carrier, tracking, status, scans in o["shipments"]:
            shipments.append(
                {
                    "direction_label": L["direction"].get(direction, direction),
                    "carrier": carrier,
                    "tracking_number": tracking,
                    "status_label": L["shipment"].get(status, status),
                    "scans": [
                        {
                            "occurred_at": _when(at),
                            "kind": kind,
                            "kind_label": L["scan"].get(kind, kind),
                            "location": location,
                            "latitude": _dec(slat),
                            "longitude": _dec(slon),
                            "photo_ref": photo,
                            "distance_m": distance_m(slat, slon, lat, lon) if kind == "delivered" else None,
                        }
                        for at, kind, location, slat, slon, photo in scans
                    ],
                }
            )
        orders.append(
            {
                "pk": o["id"],
                "number": o["number"],
                "status_label": L["order"].get(o["status"], o["status"]),
                "total": _dec(o["total"]),
                "currency": o["currency"],
                "placed_at": _when(o["placed_at"]),
                "items": [{"title": t, "quantity": q, "unit_price": _dec(p)} for t, q, p in o["items"]],
                "shipments": shipments,
            }
        )
    subscriptions = []
    for s in subs_j:
        cancelled_at = _when(s["cancelled_at"])
        charges = []
        for charged, amount, currency in s["charges"]:
            at = _when(charged)
            charges.append(
                {
                    "charged_at": at,
                    "amount": _dec(amount),
                    "currency": currency,
                    "after_cancellation": cancelled_at is not None and at > cancelled_at,
                }
            )
        subscriptions.append(
            {
                "plan": s["plan"],
                "status_label": L["subscription"].get(s["status"], s["status"]),
                "price": _dec(s["price"]),
                "currency": s["currency"],
                "cancelled_at": cancelled_at,
                "charges": charges,
                "charges_more": s["charge_count"] - len(charges),
            }
        )
    refunds = [
        {"item_title": title, "amount": _dec(amount), "status_label": L["refund"].get(status, status)}
        for title, amount, status in refunds_j
    ]
    credits = [
        {
            "kind_label": L["credit_kind"].get(kind, kind),
            "reason_label": L["credit_reason"].get(reason, reason),
            "issued_by": username,
            "amount": _dec(amount),
            "status_label": L["credit_status"].get(status, status),
        }
        for kind, reason, username, amount, status in credits_j
    ]
    earlier = [
        {"reference": ref, "subject": subject, "status": status, "status_label": L["case"].get(status, status)}
        for ref, subject, status in earlier_j
    ]
    return {
        "orders": orders,
        "subscriptions": subscriptions,
        "refunds": refunds,
        "credits": credits,
        "earlier_cases": earlier,
    }


# --- The case's own lists: conversation, timeline, other viewers -------------------------------------------------

EVENTS = 100  # the latest timeline events shown


@functools.cache
def case_rows_sql() -> str:
    """The latest messages (with their author's username), the latest events (with their actor's username and the
    triage explanation) and who else viewed the case since a time: one statement, built from the models once."""
    from django.contrib.auth import get_user_model

    from cases.models import CaseEvent, CaseViewer, Message

    User = get_user_model()
    c = _col

    def t(model):
        return f'"{model._meta.db_table}"'

    username = c(User, User.USERNAME_FIELD)
    return f"""
SELECT x.messages::text, x.events::text, x.viewers::text FROM (SELECT
 (SELECT COALESCE(json_agg(json_build_array(m.id, m.kind, u.{username}, m.body, m.created_at) ORDER BY m.id DESC), '[]')
    FROM (SELECT m.{c(Message, "id")} AS id, m.{c(Message, "kind")} AS kind, m.{c(Message, "author")} AS author_id,
                 m.{c(Message, "body")} AS body, m.{c(Message, "created_at")} AS created_at
            FROM {t(Message)} m WHERE m.{c(Message, "case")} = %(case)s
           ORDER BY m.{c(Message, "id")} DESC LIMIT %(messages)s) m
    LEFT JOIN {t(User)} u ON u.{c(User, "id")} = m.author_id),
 (SELECT COALESCE(json_agg(json_build_array(e.created_at, e.type, e.old_value, e.new_value, u.{username}, e.explained)
                           ORDER BY e.id DESC), '[]')
    FROM (SELECT e.{c(CaseEvent, "id")} AS id, e.{c(CaseEvent, "created_at")} AS created_at,
                 e.{c(CaseEvent, "type")} AS type, e.{c(CaseEvent, "old_value")} AS old_value,
                 e.{c(CaseEvent, "new_value")} AS new_value, e.{c(CaseEvent, "actor")} AS actor_id,
                 e.{c(CaseEvent, "data")} -> 'explained' AS explained
            FROM {t(CaseEvent)} e WHERE e.{c(CaseEvent, "case")} = %(case)s
           ORDER BY e.{c(CaseEvent, "id")} DESC LIMIT {EVENTS}) e
    LEFT JOIN {t(User)} u ON u.{c(User, "id")} = e.actor_id),
 (SELECT COALESCE(json_agg(json_build_array(u.{c(User, "id")}, u.{username}) ORDER BY v.{c(CaseViewer, "id")}), '[]')
    FROM {t(CaseViewer)} v JOIN {t(User)} u ON u.{c(User, "id")} = v.{c(CaseViewer, "user")}
   WHERE v.{c(CaseViewer, "case")} = %(case)s AND v.{c(CaseViewer, "last_seen_at")} >= %(since)s
     AND v.{c(CaseViewer, "user")} <> %(viewer)s)
) x (messages, events, viewers)
"""


class Viewer(NamedTuple):
    """Someone else viewing the case (the "also viewing" line): what the page shows of them."""

    pk: int
    username: str


def case_rows(*, case_id: int, viewer_id: int, since, messages: int) -> dict:
    """The latest ``messages`` messages (newest first), the latest ``EVENTS`` events and the other viewers seen
    since ``since``, as plain rows for the workspace page (one query on PostgreSQL, the ORM elsewhere)."""
    if connection.vendor != "postgresql":
        return _case_rows_orm(case_id=case_id, viewer_id=viewer_id, since=since, messages=messages)
    texts = case_rows_texts(case_id=case_id, viewer_id=viewer_id, since=since, messages=messages)
    messages_j, events_j, viewers_j = (_loads(v) for v in texts)
    return {
        "messages": shape_messages(messages_j),
        "events": shape_events(events_j),
        "viewers": shape_viewers(viewers_j),
    }


def case_rows_texts(*, case_id: int, viewer_id: int, since, messages: int) -> tuple[str, str, str]:
    """The statement's three JSON texts (messages, events, viewers): the whole input of the rendered conversation
    and timeline (``cases.panels``). Other databases: the ORM's rows in the same format."""
    if connection.vendor != "postgresql":
        lists = _case_rows_lists_orm(case_id=case_id, viewer_id=viewer_id, since=since, messages=messages)
        return tuple(json.dumps(r, default=str) for r in lists)
    with rawrows.cursor() as cur:
        cur.execute(case_rows_sql(), {"case": case_id, "messages": messages, "since": since, "viewer": viewer_id})
        return tuple(cur.fetchone())


@functools.cache
def workspace_sql() -> str:
    """The workspace page's one statement (PostgreSQL): the viewer's upsert, the customer 360's five texts, the
    case's three, and whether the viewer row was written. The upsert is ``case_viewer_touch``'s as a data-modifying
    CTE; the two reads are the statements above, unchanged, as the two sides of a cross join of one row each. The
    reads do not see the upsert (one snapshot), and the viewer's own row is never among the "other viewers"."""
    from cases.services.workspace import viewer_upsert_sql

    upsert = viewer_upsert_sql(case="%(case)s", user="%(viewer)s", now="%(now)s", fresh="%(fresh)s")
    return f"""WITH touched AS ({upsert} RETURNING 1)
SELECT c.*, r.*, (SELECT count(*) FROM touched) FROM ({customer_360_sql()}) c, ({case_rows_sql()}) r
"""


def workspace_texts_touching(
    *, customer_id: int, case_id: int, viewer_id: int, since, messages: int, now, fresh
) -> tuple[tuple[str, ...], tuple[str, str, str], bool]:
    """``customer_360_texts`` and ``case_rows_texts`` in one statement with the viewer's upsert (PostgreSQL only;
    the write belongs to ``cases.services.workspace.case_workspace_open``): the 360's five texts, the case's three,
    and whether the viewer row was written (it is not when it was touched after ``fresh``). One round trip instead
    of three, in autocommit as the upsert was."""
    params = {
        "customer": customer_id,
        "case": case_id,
        "messages": messages,
        "since": since,
        "viewer": viewer_id,
        "now": now,
        "fresh": fresh,
    }
    row = rawrows.fetch_rows(workspace_sql(), params, one=True)
    return tuple(row[:5]), tuple(row[5:8]), row[8] > 0


def shape_messages(messages_j) -> list[dict]:
    from cases.models import Message

    kinds = dict(Message.Kind.choices)
    return [
        {
            "pk": pk,
            "kind": kind,
            "kind_label": kinds.get(kind, kind),
            "author_name": author or "",
            "body": body,
            "created_at": _when(at),
        }
        for pk, kind, author, body, at in messages_j
    ]


def shape_events(events_j) -> list[dict]:
    from cases.models import CaseEvent

    types = dict(CaseEvent.Type.choices)
    return [
        {
            "created_at": _when(at),
            "type": type_,
            "type_label": types.get(type_, type_),
            "old_value": old,
            "new_value": new,
            "actor_name": actor or "",
            "explained": explained if isinstance(explained, list) else [],
        }
        for at, type_, old, new, actor, explained in events_j
    ]


def shape_viewers(viewers_j) -> list[Viewer]:
    return [Viewer(pk, username) for pk, username in viewers_j]


def _case_rows_lists_orm(*, case_id: int, viewer_id: int, since, messages: int) -> tuple[list, list, list]:
    """The statement's three lists through the ORM, in its format (SQLite)."""
    from cases.models import CaseEvent, CaseViewer, Message

    def name(user):
        return user.get_username() if user else None

    def explained(data):
        return data.get("explained") if isinstance(data, dict) else None

    return (
        [
            [m.pk, m.kind, name(m.author), m.body, m.created_at.isoformat()]
            for m in Message.objects.filter(case_id=case_id).select_related("author").order_by("-id")[:messages]
        ],
        [
            [e.created_at.isoformat(), e.type, e.old_value, e.new_value, name(e.actor), explained(e.data)]
            for e in CaseEvent.objects.filter(case_id=case_id).select_related("actor").order_by("-id")[:EVENTS]
        ],
        [
            [v.user.pk, v.user.get_username()]
            for v in CaseViewer.objects.filter(case_id=case_id, last_seen_at__gte=since)
            .exclude(user_id=viewer_id)
            .select_related("user")
            .order_by("id")
        ],
    )


def _case_rows_orm(*, case_id: int, viewer_id: int, since, messages: int) -> dict:
    from cases.models import CaseEvent, CaseViewer, Message

    def name(user):
        return user.get_username() if user else ""

    return {
        "messages": [
            {
                "pk": m.pk,
                "kind": m.kind,
                "kind_label": m.get_kind_display(),
                "author_name": name(m.author),
                "body": m.body,
                "created_at": m.created_at,
            }
            for m in Message.objects.filter(case_id=case_id).select_related("author").order_by("-id")[:messages]
        ],
        "events": [
            {
                "created_at": e.created_at,
                "type": e.type,
                "type_label": e.get_type_display(),
                "old_value": e.old_value,
                "new_value": e.new_value,
                "actor_name": name(e.actor),
                "explained": e.data.get("explained")
                if isinstance(e.data, dict) and isinstance(e.data.get("explained"), list)
                else [],
            }
            for e in CaseEvent.objects.filter(case_id=case_id).select_related("actor").order_by("-id")[:EVENTS]
        ],
        "viewers": [
            Viewer(v.user.pk, v.user.get_username())
            for v in CaseViewer.objects.filter(case_id=case_id, last_seen_at__gte=since)
            .exclude(user_id=viewer_id)
            .select_related("user")
            .order_by("id")
        ],
    }
