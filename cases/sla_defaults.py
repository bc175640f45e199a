"""Built-in SLA policies (the seed's "Best Results" table). The data migration ``0011`` copies them into the
database (where supervisors edit them); ``sla_policy_for`` falls back to these in-memory, unsaved policies when no
stored policy matches, so every case always has a clock."""

from datetime import timedelta

from cases.models import Channel, Priority, SlaPolicy

M = timedelta(minutes=1)
H = timedelta(hours=1)
BUSINESS_DAY = timedelta(hours=8)
RING = timedelta(seconds=60)
ALWAYS, BUSINESS = SlaPolicy.Clock.ALWAYS, SlaPolicy.Clock.BUSINESS

# name, order, channel, priority, clock, first response, next reply, resolution, ring
DEFAULT_POLICIES = [
    ("Fraud & account security: 24/7, urgent", 10, "", Priority.URGENT, ALWAYS, 5 * M, 10 * M, 24 * H, RING),
    (
        "Call Me Now: ring within 60 s, associate in 1–3 min",
        20,
        Channel.CALLBACK,
        None,
        ALWAYS,
        3 * M,
        5 * M,
        24 * H,
        RING,
    ),
    ("Live chat: an associate joins within minutes", 30, Channel.CHAT, None, BUSINESS, 3 * M, 3 * M, 8 * H, None),
    ("Social (@handle): 15–60 min", 40, Channel.SOCIAL, None, BUSINESS, 60 * M, 60 * M, 24 * H, None),
    ("Support line: 5–10 min", 50, Channel.PHONE, None, BUSINESS, 10 * M, 10 * M, 24 * H, None),
    (
        "Email / settlement claims: business days",
        60,
        Channel.EMAIL,
        None,
        BUSINESS,
        2 * BUSINESS_DAY,
        2 * BUSINESS_DAY,
        5 * BUSINESS_DAY,
        None,
    ),
    (
        "Web form: next business day",
        70,
        Channel.WEB,
        None,
        BUSINESS,
        BUSINESS_DAY,
        BUSINESS_DAY,
        5 * BUSINESS_DAY,
        None,
    ),
    ("Fallback: everything else", 1000, "", None, BUSINESS, 4 * H, 4 * H, 5 * BUSINESS_DAY, None),
]


def builtin_policies() -> list[SlaPolicy]:
    return [
        SlaPolicy(
            name=name,
            order=order,
            channel=channel,
            priority=priority,
            clock=clock,
            first_response=first,
            next_reply=nxt,
            resolution=resolution,
            ring_time=ring,
            warning_percent=80,
        )
        for name, order, channel, priority, clock, first, nxt, resolution, ring in DEFAULT_POLICIES
    ]


def builtin_policy_for(*, channel: str, priority: int) -> SlaPolicy:
    """The first built-in policy matching (the last one matches everything)."""
    for policy in builtin_policies():
        if policy.channel in ("", channel) and policy.priority in (None, priority):
            return policy
    raise AssertionError("the fallback policy matches everything")  # pragma: no cover
