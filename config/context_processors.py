"""Template context shared by every page."""

from cases.models import Heartbeat


def worker_heartbeat(request) -> dict:
    """The Celery worker's last heartbeat for the staff footer. A callable, so only pages that show it query it."""
    return {"worker_heartbeat": lambda: Heartbeat.objects.filter(name="worker").first()}
