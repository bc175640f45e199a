"""Small display helpers for the workspace (no business rules)."""

import math

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def distance_m(scan, address) -> int | None:
    """Metres between a Delivered scan's GPS point and the shipping address (haversine)."""
    if not address or scan.latitude is None or scan.longitude is None:
        return None
    lat1, lon1, lat2, lon2 = map(
        math.radians, (float(scan.latitude), float(scan.longitude), float(address.latitude), float(address.longitude))
    )
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return round(6_371_000 * 2 * math.asin(math.sqrt(a)))


@register.filter
def wait_for(since) -> str:
    """Compact elapsed time: 45s, 12m, 3h 05m."""
    if not since:
        return "—"
    seconds = max(0, int((timezone.now() - since).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


@register.filter
def due_in(when) -> str:
    """Time left to an SLA due time, negative when breached: 4m, -2m."""
    if not when:
        return "—"
    seconds = int((when - timezone.now()).total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{sign}{seconds}s"
    if seconds < 3600:
        return f"{sign}{seconds // 60}m"
    return f"{sign}{seconds // 3600}h{seconds % 3600 // 60:02d}"


@register.filter
def sla_state(when) -> str:
    if not when:
        return ""
    left = (when - timezone.now()).total_seconds()
    return "breached" if left < 0 else ("warning" if left < 120 else "ok")
