"""Demo world for `make run` (``manage.py seed_demo``). Idempotent: keyed by slugs, usernames and numbers."""

from datetime import time

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from cases.models import AgentProfile, BusinessHours, Department, Role

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
        user.groups.set([Group.objects.get(name=role)])


def seed_demo(*, customers: int = 300) -> dict:
    departments = seed_departments()
    seed_staff(departments)
    return {"departments": Department.objects.count(), "staff": AgentProfile.objects.count()}
