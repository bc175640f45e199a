"""Demo world for `make run` (``manage.py seed_demo``): departments, staff and customer logins, a few hundred
customers with orders, shipments, scans, returns, Prime subscriptions and cards, and open cases on every channel in
every department, opened through ``case_create`` / ``callback_request`` so their timelines are real.

Deterministic (seeded ``random.Random`` per customer) and idempotent: keyed by slugs, usernames and e-mails; a second
run changes nothing."""

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from cases.models import (
    AgentProfile,
    BusinessHours,
    Case,
    Channel,
    Department,
    GoodwillCredit,
    Holiday,
    Intent,
    Macro,
    Priority,
    Role,
)
from cases.services.callbacks import callback_request
from cases.services.cases import case_create
from cases.services.credits import credit_approve, credit_grant, credit_reject, credit_reverse
from cases.services.queue import GROUP_OF, case_assign
from customers.models import (
    Address,
    CarrierScan,
    Customer,
    Order,
    OrderItem,
    PaymentMethod,
    Return,
    Shipment,
    Subscription,
    SubscriptionCharge,
)

DEMO_PASSWORD = "demo-pass-2026"
DEMO_LOGINS = [
    ("alice", "associate — general support, chat and callbacks"),
    ("bob", "associate — pharmacy and e-reader tech support"),
    ("sofia", "social care — social queue, higher credit limit"),
    ("sam", "supervisor — all queues, approvals, audit"),
    ("sue", "supervisor (second pair of eyes for approvals)"),
    ("carol", "customer — My cases, Message Center, help flow"),
]

DEPARTMENTS = [
    ("general", "General support", True, "24/7 general support, live chat and callbacks."),
    ("fraud", "Fraud & account security", True, "Phishing, suspicious activity, account takeover. 24/7."),
    ("social", "Social care", True, "@handle escalations from X, Facebook and Instagram."),
    ("pharmacy", "Pharmacy", False, "Prescriptions and pharmacy orders. Limited hours."),
    ("ereader", "E-reader tech support", False, "E-reader devices and content. Limited hours."),
    ("claims", "Settlement claims", False, "Subscription-settlement claims by e-mail and form. Business days."),
]
LIMITED_HOURS = {
    "pharmacy": [(d, time(8), time(20)) for d in range(0, 5)] + [(5, time(9), time(17))],
    "ereader": [(d, time(9), time(21)) for d in range(0, 7)],
    "claims": [(d, time(9), time(17)) for d in range(0, 5)],
}
STAFF = [
    ("alice", "Alice", "Associate", Role.ASSOCIATE, ["general", "fraud"]),
    ("bob", "Bob", "Associate", Role.ASSOCIATE, ["pharmacy", "ereader", "general"]),
    ("sofia", "Sofia", "Social", Role.SOCIAL_CARE, ["social", "general"]),
    ("sam", "Sam", "Supervisor", Role.SUPERVISOR, [slug for slug, *_ in DEPARTMENTS]),
    ("sue", "Sue", "Supervisor", Role.SUPERVISOR, [slug for slug, *_ in DEPARTMENTS]),
]


def _user(username: str, first: str, last: str, *, staff: bool):
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username, defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.is_staff = staff
        user.save()
    return user


@transaction.atomic
def seed_departments() -> dict[str, Department]:
    departments = {}
    for slug, name, always_open, description in DEPARTMENTS:
        dept, created = Department.objects.get_or_create(
            slug=slug, defaults={"name": name, "is_24_7": always_open, "description": description}
        )
        if created and slug in LIMITED_HOURS:
            BusinessHours.objects.bulk_create(
                BusinessHours(department=dept, weekday=d, opens=o, closes=c) for d, o, c in LIMITED_HOURS[slug]
            )
        departments[slug] = dept
    return departments


@transaction.atomic
def seed_staff(departments: dict[str, Department]) -> None:
    for username, first, last, role, slugs in STAFF:
        user = _user(username, first, last, staff=role == Role.SUPERVISOR)
        profile, created = AgentProfile.objects.get_or_create(user=user, defaults={"role": role})
        if created:
            profile.departments.set([departments[s] for s in slugs])
            if role == Role.SOCIAL_CARE:
                profile.capacity_social = 5
            # The demo's associates are at their desks: "Take next" works on the first click. Supervisors start
            # offline, as they watch the board rather than take from it.
            if role != Role.SUPERVISOR:
                profile.presence = AgentProfile.Presence.AVAILABLE
            profile.save()
        user.groups.set([Group.objects.get(name=role)])


# --- The customer's world ----------------------------------------------------------------------------------------
# Deterministic: every customer's world comes from its own seeded ``random.Random``, so the data does not depend on
# how many customers were asked for or on what already exists. Idempotent: a customer (by e-mail) that exists is
# skipped with everything it owns, because a customer and its world are written in one transaction.

FIRST_NAMES = (
    "Olivia Liam Emma Noah Ava Elijah Sophia James Isabella Lucas Mia Mateo Amelia Ethan Harper Levi Evelyn Kai "
    "Abigail Ezra Ella Luca Aria Mason Chloe Jack Nora Leo Zoe Asher Layla Hudson Priya Ravi Mei Hiro Fatima Omar "
    "Lena Jonas Ines Diego Sara Tomas Yara Arjun Nia Malik Rosa Dmitri"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson "
    "Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell "
    "Mitchell Carter Roberts Patel Kim Chen Okafor Novak"
).split()
STREETS = (
    "Pine St|Maple Ave|Oak St|Cedar Ln|Elm St|Lake Dr|Hillside Rd|Park Ave|2nd Ave|Market St|River Rd|Sunset Blvd"
).split("|")
# city, region, postal code, latitude, longitude, area code
CITIES = [
    ("Seattle", "WA", "98101", "47.606200", "-122.332100", "206"),
    ("Portland", "OR", "97205", "45.515200", "-122.678400", "503"),
    ("San Francisco", "CA", "94103", "37.774900", "-122.419400", "415"),
    ("Austin", "TX", "78701", "30.267200", "-97.743100", "512"),
    ("Chicago", "IL", "60601", "41.878100", "-87.629800", "312"),
    ("New York", "NY", "10001", "40.750600", "-73.997200", "212"),
    ("Boston", "MA", "02108", "42.360100", "-71.058900", "617"),
    ("Denver", "CO", "80202", "39.739200", "-104.990300", "303"),
    ("Atlanta", "GA", "30303", "33.749000", "-84.388000", "404"),
    ("Miami", "FL", "33130", "25.761700", "-80.191800", "305"),
    ("Phoenix", "AZ", "85004", "33.448400", "-112.074000", "602"),
    ("Minneapolis", "MN", "55401", "44.977800", "-93.265000", "612"),
]
# sku, title, unit price, department hint
CATALOG = {
    "everyday": [
        ("B0C-USBC2M", "USB-C cable, 2 m", "12.99", ""),
        ("B0B-NOVEL01", "Paperback novel", "16.50", ""),
        ("B09-GRIND01", "Burr coffee grinder", "89.00", ""),
        ("B0A-SHOE42", "Running shoes", "129.95", ""),
        ("B08-BLEND01", "Countertop blender", "149.00", ""),
        ("B07-PACK01", "Commuter backpack", "59.99", ""),
        ("B0D-LAMP01", "LED desk lamp", "34.99", ""),
        ("B0C-FRYER1", "Air fryer, 5 qt", "119.99", ""),
        ("B0B-HEAD01", "Noise-cancelling headphones", "349.00", ""),
    ],
    "high_value": [
        ("B0D-LAPTOP14", 'Laptop 14", 32 GB', "1299.00", ""),
        ("B0C-TV65", '65" 4K television', "749.00", ""),
        ("B0B-CAMERA1", "Mirrorless camera body", "899.00", ""),
        ("B0D-PHONE15", "Smartphone, 256 GB", "999.00", ""),
        ("B0A-VACUUM", "Robot vacuum", "549.00", ""),
        ("B09-ESPRESSO", "Espresso machine", "629.00", ""),
    ],
    "pharmacy": [
        ("PH-ALLERGY30", "Allergy relief, 30 tablets", "18.49", "pharmacy"),
        ("PH-RX-REFILL", "Prescription refill (90 days)", "42.00", "pharmacy"),
        ("PH-BPMONITOR", "Blood pressure monitor", "64.99", "pharmacy"),
    ],
    "ereader": [
        ("ER-PAPER16", "E-reader, 16 GB", "159.99", "ereader"),
        ("ER-OASIS32", "E-reader Oasis, 32 GB", "279.99", "ereader"),
        ("ER-COVER01", "E-reader fabric cover", "29.99", "ereader"),
    ],
}
CARRIERS = ["UPS", "USPS", "FedEx", "AMZL"]
BRANDS = ["Visa", "Mastercard", "Amex", "Discover"]
PRIME_MONTHLY = Decimal("14.99")

CHANNELS = [c for c, _ in Channel.choices]
# Rough first-response targets (the seed's numbers) used only to make waiting times believable.
FIRST_RESPONSE_TARGET = {
    Channel.CHAT: timedelta(minutes=3),
    Channel.CALLBACK: timedelta(minutes=1),
    Channel.SOCIAL: timedelta(minutes=60),
    Channel.PHONE: timedelta(minutes=10),
    Channel.EMAIL: timedelta(hours=16),
    Channel.WEB: timedelta(hours=4),
}
# Per department: (intent, subject, what the customer wrote, kind of order it is about)
SCENARIOS = {
    "general": [
        (
            Intent.MISSING_DELIVERED,
            "Marked delivered but not here",
            "The app says delivered yesterday but there is nothing at my door or with the neighbours.",
            "delivered",
        ),
        (
            Intent.LATE_DELIVERY,
            "Order is late",
            "It was promised for Monday and tracking has not moved for days.",
            "delayed",
        ),
        (
            Intent.RETURN_REFUND,
            "Refund for my return",
            "I sent the return two weeks ago, where is my refund?",
            "delivered",
        ),
        (Intent.TRACKING, "Where is my order?", "Tracking shows in transit since last week.", "in_transit"),
        (Intent.ADDRESS_CHANGE, "Change delivery address", "I moved, please send it to my new address.", "in_transit"),
        (
            Intent.SUBSCRIPTION_BILLING,
            "Charged for Prime after cancelling",
            "I cancelled Prime last month and was charged again. I want my money back.",
            "",
        ),
    ],
    "fraud": [
        (
            Intent.PHISHING_REPORT,
            "Phishing e-mail about my refund",
            "Got an e-mail asking for my password to release a refund. Is this you?",
            "",
        ),
        (
            Intent.ACCOUNT_SECURITY,
            "Someone changed my account e-mail",
            "I got a notice that my e-mail was changed and I did not do it. Orders I did not place!",
            "",
        ),
    ],
    "social": [
        (
            Intent.LATE_DELIVERY,
            "@handle: order stuck for two weeks",
            "Two weeks and my order is still 'preparing'. Third time asking. Ridiculous.",
            "delayed",
        ),
        (
            Intent.RETURN_REFUND,
            "@handle: refund delay",
            "Returned it a month ago, still no refund. Anyone there?",
            "delivered",
        ),
        (
            Intent.MISSING_DELIVERED,
            "@handle: package never arrived",
            "Delivered to the wrong house AGAIN.",
            "delivered",
        ),
    ],
    "pharmacy": [
        (
            Intent.LATE_DELIVERY,
            "Prescription refill not shipped",
            "My refill has not shipped and I run out on Friday.",
            "pharmacy",
        ),
        (
            Intent.PRODUCT_QUESTION,
            "Question about my prescription",
            "Can I take the allergy tablets with my blood pressure medicine?",
            "pharmacy",
        ),
    ],
    "ereader": [
        (
            Intent.PRODUCT_QUESTION,
            "E-reader will not turn on",
            "It froze on the logo screen and does not charge any more.",
            "ereader",
        ),
        (Intent.OTHER, "Books missing from my e-reader", "Half of my library disappeared after the update.", "ereader"),
    ],
    "claims": [
        (
            Intent.SETTLEMENT_CLAIM,
            "Subscription settlement claim",
            "I received the settlement notice. Here is my claim for the Prime fees I paid.",
            "",
        ),
        (
            Intent.SETTLEMENT_CLAIM,
            "Help with the settlement claim form",
            "The claim form will not accept my notice number.",
            "",
        ),
    ],
}
MACROS = [
    ("Greeting", "Hi {customer_name}, I'm {agent_name} and I'll take care of {case_reference} for you.", None),
    (
        "Never share your password",
        "Please never share your password or full card number with anyone, including us. We will never ask for them.",
        None,
    ),
    ("Refund issued", "Good news {customer_name}: your refund is on its way (3–5 business days).", None),
    ("Phishing thank-you", "Thank you for reporting this. It was not from us; we have blocked the sender.", "fraud"),
    (
        "Pharmacy hours",
        "Our pharmacy team is available Monday to Friday 8:00–20:00 and Saturday 9:00–17:00.",
        "pharmacy",
    ),
]
HOLIDAYS = [("2026-11-26", "Thanksgiving"), ("2026-12-25", "Christmas Day"), ("2027-01-01", "New Year's Day")]


def _money(value: str) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def _jitter(rng: random.Random, value: str, spread: float) -> Decimal:
    return (Decimal(value) + Decimal(str(round(rng.uniform(-spread, spread), 6)))).quantize(Decimal("0.000001"))


@dataclass
class CustomerWorld:
    customer: Customer
    orders: dict[str, list[Order]] = field(default_factory=dict)  # kind -> orders


def _address(rng: random.Random, customer: Customer, *, default: bool, city=None) -> Address:
    city = city or rng.choice(CITIES)
    return Address.objects.create(
        customer=customer,
        line1=f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
        line2=rng.choice(["", "", "", f"Apt {rng.randint(1, 40)}"]),
        city=city[0],
        region=city[1],
        postal_code=city[2],
        latitude=_jitter(rng, city[3], 0.03),
        longitude=_jitter(rng, city[4], 0.03),
        is_default=default,
    )


def _order(
    rng: random.Random,
    *,
    customer: Customer,
    address: Address,
    number: str,
    placed_at: datetime,
    items: list[tuple[str, str, str, str]],
    outcome: str,
    delivered_far: bool = False,
    photo: bool = True,
) -> Order:
    """One order with its items and outbound shipment. ``outcome``: delivered, in_transit, delayed, lost, placed."""
    total = sum((_money(price) for _sku, _title, price, _hint in items), Decimal("0.00"))
    status = {
        "delivered": Order.Status.DELIVERED,
        "placed": Order.Status.PLACED,
    }.get(outcome, Order.Status.SHIPPED)
    order = Order.objects.create(
        customer=customer,
        number=number,
        placed_at=placed_at,
        status=status,
        shipping_address=address,
        total=total,
    )
    order_items = OrderItem.objects.bulk_create(
        OrderItem(order=order, sku=sku, title=title, unit_price=_money(price), department_hint=hint)
        for sku, title, price, hint in items
    )
    if outcome == "placed":
        return order
    carrier = rng.choice(CARRIERS)
    shipment_status = {
        "delivered": Shipment.Status.DELIVERED,
        "in_transit": Shipment.Status.IN_TRANSIT,
        "delayed": Shipment.Status.DELAYED,
        "lost": Shipment.Status.LOST,
    }[outcome]
    shipped = placed_at + timedelta(hours=rng.randint(6, 30))
    promised = placed_at + timedelta(days=rng.randint(2, 5))
    scans = [
        (CarrierScan.Kind.LABEL_CREATED, placed_at + timedelta(hours=2), "Fulfilment center"),
        (CarrierScan.Kind.PICKED_UP, shipped, "Fulfilment center"),
        (CarrierScan.Kind.IN_TRANSIT, shipped + timedelta(hours=rng.randint(8, 20)), "Regional sort facility"),
    ]
    delivered_at = None
    extra = {}
    if outcome == "delivered":
        delivered_at = min(promised, shipped + timedelta(days=rng.randint(1, 3)))
        scans.append((CarrierScan.Kind.OUT_FOR_DELIVERY, delivered_at - timedelta(hours=4), f"{address.city} station"))
        scans.append((CarrierScan.Kind.DELIVERED, delivered_at, "Front door" if photo else "Mailroom"))
        spread = (0.02, 0.04) if delivered_far else (0.00005, 0.0002)
        sign = rng.choice([-1, 1])
        extra = {
            "latitude": (address.latitude + Decimal(str(round(sign * rng.uniform(*spread), 6)))).quantize(
                Decimal("0.000001")
            ),
            "longitude": (address.longitude + Decimal(str(round(rng.uniform(*spread), 6)))).quantize(
                Decimal("0.000001")
            ),
            "photo_ref": f"delivery-photos/{number}.jpg" if photo else "",
        }
    elif outcome in ("delayed", "lost"):
        scans.append(
            (
                CarrierScan.Kind.EXCEPTION,
                shipped + timedelta(days=1, hours=rng.randint(1, 12)),
                "Weather delay" if outcome == "delayed" else "Package could not be located",
            )
        )
    shipment = Shipment.objects.create(
        order=order,
        carrier=carrier,
        tracking_number=f"TRK{number.replace('-', '')}",
        status=shipment_status,
        promised_by=promised,
        delivered_at=delivered_at,
    )
    shipment.items.set(order_items)
    last = len(scans) - 1
    CarrierScan.objects.bulk_create(
        CarrierScan(
            shipment=shipment,
            external_id=f"{shipment.tracking_number}-{n}",
            kind=kind_,
            occurred_at=when,
            location=where,
            received_at=when + timedelta(minutes=2),
            **(extra if n == last and kind_ == CarrierScan.Kind.DELIVERED else {}),
        )
        for n, (kind_, when, where) in enumerate(scans)
    )
    return order


def _return(rng: random.Random, *, item: OrderItem, now: datetime, number: str) -> Return:
    status = rng.choice([Return.Status.REQUESTED, Return.Status.LABEL_ISSUED, Return.Status.IN_TRANSIT])
    created = now - timedelta(days=rng.randint(2, 12))
    shipment = None
    first_scan = None
    if status != Return.Status.REQUESTED:
        shipment = Shipment.objects.create(
            order=item.order,
            direction=Shipment.Direction.RETURN,
            carrier="UPS",
            tracking_number=f"RET{number.replace('-', '')}",
            status=Shipment.Status.IN_TRANSIT if status == Return.Status.IN_TRANSIT else Shipment.Status.LABEL_CREATED,
        )
        shipment.items.set([item])
        CarrierScan.objects.create(
            shipment=shipment,
            external_id=f"{shipment.tracking_number}-0",
            kind=CarrierScan.Kind.LABEL_CREATED,
            occurred_at=created + timedelta(hours=1),
            location="Return label",
        )
        if status == Return.Status.IN_TRANSIT:
            first_scan = created + timedelta(days=1)
            CarrierScan.objects.create(
                shipment=shipment,
                external_id=f"{shipment.tracking_number}-1",
                kind=CarrierScan.Kind.PICKED_UP,
                occurred_at=first_scan,
                location="UPS Store drop-off",
            )
    return Return.objects.create(
        order_item=item,
        shipment=shipment,
        reason=rng.choice(["Arrived damaged", "Wrong size", "No longer needed", "Not as described"]),
        status=status,
        created_at=created,
        first_scan_at=first_scan,
    )


def _subscription(
    rng: random.Random, *, customer: Customer, card: PaymentMethod, now: datetime, key: str, state: str
) -> Subscription:
    """``state``: active, cancelled (clean) or charged_after_cancel (the billing error the sweep refunds)."""
    started = now - timedelta(days=rng.randint(120, 900))
    cancelled = now - timedelta(days=rng.randint(20, 45)) if state != "active" else None
    sub = Subscription.objects.create(
        customer=customer,
        price=PRIME_MONTHLY,
        started_at=started,
        status=Subscription.Status.ACTIVE if state == "active" else Subscription.Status.CANCELLED,
        cancelled_at=cancelled,
        payment_method=card,
    )
    charges = []
    month = 0
    when = started
    until = now if state == "active" else cancelled
    while when <= until:
        charges.append(when)
        month += 1
        when = started + timedelta(days=30 * month)
    if state == "charged_after_cancel":
        charges.append(cancelled + timedelta(days=rng.randint(5, 15)))
    SubscriptionCharge.objects.bulk_create(
        SubscriptionCharge(subscription=sub, amount=PRIME_MONTHLY, charged_at=at, external_id=f"ch_{key}_{n:03d}")
        for n, at in enumerate(charges[-6:])
    )
    return sub


def _phone(rng: random.Random, area: str) -> str:
    return f"+1{area}55501{rng.randint(0, 99):02d}"


def _customer_world(index: int, *, now: datetime) -> CustomerWorld | None:
    """Customer ``index`` (1-based) and everything it owns, or None if it exists already."""
    email = f"customer{index:03d}@example.com"
    if Customer.objects.filter(email=email).exists():
        return None
    rng = random.Random(f"resolution-hub-demo-{index}")
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    city = rng.choice(CITIES)
    customer = Customer.objects.create(
        name=f"{first} {last}",
        email=email,
        phone=_phone(rng, city[5]),
        social_handle=f"@{first.lower()}{last.lower()}{index}" if rng.random() < 0.4 else "",
        created_at=now - timedelta(days=rng.randint(20, 2500)),
    )
    world = CustomerWorld(customer)
    home = _address(rng, customer, default=True, city=city)
    if rng.random() < 0.25:
        _address(rng, customer, default=False)
    card = PaymentMethod.objects.create(
        customer=customer,
        brand=rng.choice(BRANDS),
        last4=f"{rng.randint(0, 9999):04d}",
        token=f"tok_demo_{index:04d}",
        exp_month=rng.randint(1, 12),
        exp_year=rng.randint(2027, 2031),
    )
    for n in range(rng.randint(1, 4)):
        kind = rng.choices(["everyday", "high_value", "pharmacy", "ereader"], weights=[60, 15, 12, 13])[0]
        items = rng.sample(CATALOG[kind], k=min(len(CATALOG[kind]), rng.randint(1, 2)))
        if kind != "everyday" and rng.random() < 0.4:
            items.append(rng.choice(CATALOG["everyday"]))
        outcome = rng.choices(["delivered", "in_transit", "delayed", "lost", "placed"], weights=[62, 16, 10, 5, 7])[0]
        age = rng.randint(1, 6) if outcome != "delivered" else rng.randint(3, 60)
        order = _order(
            rng,
            customer=customer,
            address=home,
            number=f"204-{index:07d}-{n + 1:07d}",
            placed_at=now - timedelta(days=age, hours=rng.randint(0, 20)),
            items=items,
            outcome=outcome,
            delivered_far=rng.random() < 0.2,
            photo=rng.random() < 0.85,
        )
        world.orders.setdefault(outcome, []).append(order)
        world.orders.setdefault(kind, []).append(order)
        if outcome == "delivered" and rng.random() < 0.12:
            _return(rng, item=order.items.first(), now=now, number=order.number)
    if rng.random() < 0.6:
        state = rng.choices(["active", "cancelled", "charged_after_cancel"], weights=[80, 12, 8])[0]
        _subscription(rng, customer=customer, card=card, now=now, key=f"{index:04d}", state=state)
    return world


def _escalation_reasons(rng: random.Random, *, value: Decimal, department: str, channel: str) -> tuple[list, int]:
    reasons: list[dict] = []
    priority = Priority.NORMAL
    threshold = Decimal(settings.RH["HIGH_VALUE_THRESHOLD"])
    if value > threshold:
        reasons.append({"code": "high_value", "value": str(value), "threshold": str(threshold)})
        priority = Priority.HIGH
    if rng.random() < 0.35:
        reasons.append({"code": "sentiment", "label": rng.choice(["frustrated", "angry", "urgent"]), "score": -0.6})
        priority = min(priority, Priority.HIGH)
    if rng.random() < 0.2:
        reasons.append({"code": "representative_requested", "count": rng.randint(2, 3)})
    if department == "fraud":
        reasons.append({"code": "security", "detail": "account security / phishing is always handled by a human"})
        priority = Priority.URGENT
    if channel in (Channel.CALLBACK, Channel.SOCIAL):
        priority = min(priority, Priority.HIGH)
    if not reasons:
        reasons.append({"code": "customer_asked", "detail": "the customer chose to contact an associate"})
        if rng.random() < 0.3:
            priority = Priority.LOW
    return reasons, priority


def _open_case(rng: random.Random, *, world: CustomerWorld, department: Department, channel: str, now: datetime):
    intent, subject, text, order_kind = rng.choice(SCENARIOS[department.slug])
    order = rng.choice(world.orders[order_kind]) if world.orders.get(order_kind) else None
    item = order.items.order_by("-unit_price").first() if order else None
    value = order.total if order else Decimal("0.00")
    if channel == Channel.SOCIAL and world.customer.social_handle:
        subject = subject.replace("@handle", world.customer.social_handle)
    if subject.startswith("@handle: "):
        rest = subject.removeprefix("@handle: ")
        subject = rest[0].upper() + rest[1:]
    reasons, priority = _escalation_reasons(rng, value=value, department=department.slug, channel=channel)
    common = {
        "customer": world.customer,
        "department": department,
        "subject": subject,
        "intent": intent,
        "priority": priority,
        "order": order,
        "order_item": item,
        "value_at_stake": value,
        "escalation_reasons": reasons,
        "triage": {"intent": intent.value, "confidence": round(rng.uniform(0.55, 0.97), 2), "source": "demo"},
        "first_message": text,
    }
    if channel == Channel.CALLBACK:
        return callback_request(phone=world.customer.phone or "+14155550123", **common)
    # Most cases arrived well inside their first-response target, a few are already late (a queue, not a fire).
    target = FIRST_RESPONSE_TARGET[channel]
    waited = target * (rng.uniform(1.2, 3.0) if rng.random() < 0.15 else rng.uniform(0.05, 0.8))
    return case_create(channel=channel, now=now - waited, **common)


def seed_carol(departments: dict[str, Department], *, now: datetime) -> None:
    """carol: a Prime charge after cancelling, a Delivered parcel (photo + GPS) she never got, open cases."""
    user = _user("carol", "Carol", "Customer", staff=False)
    if Customer.objects.filter(user=user).exists():
        return
    rng = random.Random("resolution-hub-demo-carol")
    carol = Customer.objects.create(
        user=user,
        name="Carol Customer",
        email="carol@example.com",
        phone="+12065550142",
        social_handle="@carol_reads",
        created_at=now - timedelta(days=1400),
    )
    world = CustomerWorld(carol)
    home = Address.objects.create(
        customer=carol,
        line1="1200 Pine St",
        line2="Apt 5",
        city="Seattle",
        region="WA",
        postal_code="98101",
        latitude=Decimal("47.614300"),
        longitude=Decimal("-122.327600"),
        is_default=True,
    )
    card = PaymentMethod.objects.create(
        customer=carol, brand="Visa", last4="4242", token="tok_demo_carol", exp_month=8, exp_year=2029
    )
    headphones = _order(
        rng,
        customer=carol,
        address=home,
        number="204-0000000-0000001",
        placed_at=now - timedelta(days=4),
        items=[("B0B-HEAD01", "Noise-cancelling headphones", "349.00", "")],
        outcome="delivered",
        delivered_far=True,
        photo=True,
    )
    laptop = _order(
        rng,
        customer=carol,
        address=home,
        number="204-0000000-0000002",
        placed_at=now - timedelta(days=3),
        items=[CATALOG["high_value"][0], CATALOG["everyday"][0]],
        outcome="delayed",
    )
    _order(
        rng,
        customer=carol,
        address=home,
        number="204-0000000-0000003",
        placed_at=now - timedelta(days=40),
        items=[CATALOG["ereader"][0], CATALOG["ereader"][2]],
        outcome="delivered",
    )
    world.orders = {"delivered": [headphones], "delayed": [laptop]}
    # Prime: cancelled 35 days ago, charged again 5 days ago — the billing error the assistant refunds at once.
    started = now - timedelta(days=400)
    cancelled = now - timedelta(days=35)
    prime = Subscription.objects.create(
        customer=carol,
        price=PRIME_MONTHLY,
        started_at=started,
        status=Subscription.Status.CANCELLED,
        cancelled_at=cancelled,
        payment_method=card,
    )
    SubscriptionCharge.objects.bulk_create(
        SubscriptionCharge(subscription=prime, amount=PRIME_MONTHLY, charged_at=at, external_id=f"ch_carol_{n:03d}")
        for n, at in enumerate([cancelled - timedelta(days=25), now - timedelta(days=5)])
    )
    item = headphones.items.get()
    case_create(
        customer=carol,
        channel=Channel.CHAT,
        department=departments["general"],
        subject="Headphones marked delivered but not here",
        intent=Intent.MISSING_DELIVERED,
        priority=Priority.NORMAL,
        order=headphones,
        order_item=item,
        value_at_stake=item.unit_price,
        escalation_reasons=[
            {"code": "sentiment", "label": "frustrated", "score": -0.7},
            {"code": "representative_requested", "count": 2},
        ],
        triage={"intent": Intent.MISSING_DELIVERED.value, "confidence": 0.91, "source": "demo"},
        first_message="The app says my headphones were delivered on Friday with a photo, but that is not my door. "
        "I want to talk to a representative.",
        now=now - timedelta(minutes=7),
    )
    callback_request(
        customer=carol,
        phone=carol.phone,
        department=departments["general"],
        subject="Laptop order delayed — please call me",
        intent=Intent.LATE_DELIVERY,
        order=laptop,
        value_at_stake=laptop.total,
        escalation_reasons=[{"code": "high_value", "value": str(laptop.total), "threshold": "500.00"}],
        first_message="My $1,299 laptop has been stuck with a weather delay for days. Please call me.",
    )


@transaction.atomic
def seed_reference(departments: dict[str, Department]) -> None:
    for title, body, slug in MACROS:
        Macro.objects.get_or_create(title=title, defaults={"body": body, "department": departments.get(slug)})
    for dept in departments.values():
        if dept.is_24_7:
            continue
        for day, name in HOLIDAYS:
            Holiday.objects.get_or_create(department=dept, date=date.fromisoformat(day), defaults={"name": name})


def seed_customers(departments: dict[str, Department], *, count: int, now: datetime) -> None:
    """``count`` customers; every third one has an open case. The first 36 of those cover every channel in every
    department; the rest pick at random. A few cases are already with an associate."""
    combos = [(slug, channel) for slug in departments for channel in CHANNELS]
    sam = get_user_model().objects.get(username="sam")
    # Seeded assignments go to associates only, never past their capacity per channel group (supervisors watch).
    holders = {
        slug: [
            p
            for p in departments[slug].agents.select_related("user").order_by("user__username")
            if p.role != Role.SUPERVISOR
        ]
        for slug in departments
    }
    held: dict[tuple[int, str], int] = {}
    for user_id, channel in Case.objects.filter(
        status__in=[Case.Status.ASSIGNED, Case.Status.WAITING_CUSTOMER]
    ).values_list("assignee_id", "channel"):
        held[(user_id, GROUP_OF[channel])] = held.get((user_id, GROUP_OF[channel]), 0) + 1
    for index in range(1, count + 1):
        with transaction.atomic():
            world = _customer_world(index, now=now)
            if world is None or index % 3:
                continue
            rng = random.Random(f"resolution-hub-demo-case-{index}")
            slot = index // 3 - 1
            slug, channel = (
                combos[slot] if slot < len(combos) else (rng.choice(list(departments)), rng.choice(CHANNELS))
            )
            case = _open_case(rng, world=world, department=departments[slug], channel=channel, now=now)
            group = GROUP_OF[case.channel]
            free = [p for p in holders[slug] if held.get((p.user_id, group), 0) < p.capacity_for(case.channel)]
            if free and rng.random() < 0.15:
                profile = rng.choice(free)
                case_assign(case_id=case.pk, assignee=profile.user, actor=sam)
                held[(profile.user_id, group)] = held.get((profile.user_id, group), 0) + 1


# --- Goodwill credits ----------------------------------------------------------------------------------------------
# Four weeks of a small team's goodwill credits, issued through the credit services (limits, four eyes, audit chain,
# Message Center notices) so the supervisor console has something to audit on the first visit: mostly small credits
# within limits, plus what the console exists to catch — an associate repeatedly crediting one customer just under
# the per-credit limit, a credit above the limit waiting for approval, one approved and one rejected by a supervisor
# who did not issue it, and a reversal.

CREDIT_NOTES = {
    GoodwillCredit.Reason.LATE_DELIVERY: "Parcel arrived days after the promised date.",
    GoodwillCredit.Reason.MISSING_ITEM: "Item missing from the parcel; replacement sent.",
    GoodwillCredit.Reason.SERVICE_FAILURE: "Customer was passed between teams twice.",
    GoodwillCredit.Reason.BILLING_ERROR: "Charged twice at checkout; refund already on its way.",
    GoodwillCredit.Reason.REFUND_DELAY: "Refund took longer than the promised five days.",
    GoodwillCredit.Reason.LOYALTY: "Long-time customer, considering cancelling.",
}


def seed_credits(*, now: datetime) -> None:
    """Seeded once: a database that already holds credits (a second run, or real use) is left alone."""
    if GoodwillCredit.objects.exists():
        return
    from cases.selectors import cases_visible_to_agent

    staff = {
        u.username: u for u in get_user_model().objects.filter(username__in=["alice", "bob", "sofia", "sam", "sue"])
    }
    rng = random.Random("resolution-hub-demo-credits")
    visible = {
        name: list(  # Carol's Message Center stays about her own story: no credits on her cases
            cases_visible_to_agent(user=staff[name])
            .exclude(customer__email="carol@example.com")
            .order_by("pk")
            .values_list("pk", flat=True)[:80]
        )
        for name in ("alice", "bob", "sofia")
    }
    reasons = list(CREDIT_NOTES)

    def grant(name: str, amount: str, *, days_ago: float, case_id: int | None = None, reason=None):
        reason = reason or rng.choice(reasons)
        return credit_grant(
            case_id=case_id or rng.choice(visible[name]),
            amount=Decimal(amount),
            reason_code=reason,
            note=CREDIT_NOTES[reason],
            actor=staff[name],
            now=now - timedelta(days=days_ago),
        )

    for day in range(28, 0, -1):
        for name, top in (("alice", 45), ("bob", 40), ("sofia", 120)):
            if rng.random() < 0.55:
                amount = f"{rng.randint(5, top)}.{rng.choice(['00', '50', '99'])}"
                if name == "bob" and rng.random() < 0.7:  # Bob's habit: just under the associate's $50 limit
                    amount = rng.choice(["45.00", "47.50", "48.00", "49.00", "49.50", "49.99"])
                grant(name, amount, days_ago=day + rng.random() / 3)
    # Bob again: three credits just under the limit to the same customer within ten days.
    repeat_case = visible["bob"][0]
    for days_ago, amount in ((10.2, "49.00"), (6.1, "48.50"), (2.3, "49.99")):
        grant("bob", amount, days_ago=days_ago, case_id=repeat_case, reason=GoodwillCredit.Reason.SERVICE_FAILURE)
    # Above the limit: waiting for a supervisor, approved by one, rejected by another.
    grant("alice", "120.00", days_ago=0.1, reason=GoodwillCredit.Reason.MISSING_ITEM)
    approved = grant("sofia", "240.00", days_ago=3.5, reason=GoodwillCredit.Reason.SERVICE_FAILURE)
    credit_approve(credit_id=approved.pk, actor=staff["sue"], note="Outage affected this customer twice.")
    rejected = grant("alice", "95.00", days_ago=5.2, reason=GoodwillCredit.Reason.LOYALTY)
    credit_reject(credit_id=rejected.pk, actor=staff["sam"], note="Retention offers go through the loyalty team.")
    # A credit issued on the wrong customer's case, reversed by a supervisor.
    wrong = grant("alice", "30.00", days_ago=8.4, reason=GoodwillCredit.Reason.LATE_DELIVERY)
    credit_reverse(credit_id=wrong.pk, actor=staff["sam"], note="Issued on the wrong customer's case.")


@transaction.atomic  # one commit: fast on SQLite, and a failed seed leaves nothing half-written
def seed_demo(*, customers: int = 300, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    departments = seed_departments()
    seed_staff(departments)
    seed_reference(departments)
    with transaction.atomic():
        seed_carol(departments, now=now)
    seed_customers(departments, count=customers, now=now)
    seed_credits(now=now)
    return {
        "departments": Department.objects.count(),
        "staff": AgentProfile.objects.count(),
        "customers": Customer.objects.count(),
        "orders": Order.objects.count(),
        "shipments": Shipment.objects.count(),
        "open_cases": Case.objects.open().count(),
        "goodwill_credits": GoodwillCredit.objects.count(),
    }
