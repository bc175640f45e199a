"""Site-wide views: landing redirect and health check."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from cases.selectors import agent_profile_of


@login_required
def home(request):
    """Staff land on the queue overview, customers on "My cases"."""
    if agent_profile_of(request.user) is not None:
        return redirect("cases:queues")
    return redirect("escalations:my_cases")


def _broker_ok() -> tuple[bool, str]:
    url = settings.CELERY_BROKER_URL
    try:
        if url.startswith("filesystem://"):
            from pathlib import Path

            ok = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]).is_dir()
            return ok, "filesystem"
        from config.celery import app

        with app.connection_for_write(url) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, url.split("://", 1)[0]
    except Exception as exc:
        return False, type(exc).__name__


@never_cache
@require_GET
def healthz(request):
    """200 when the database and the broker answer, 503 otherwise (for load balancers and ``make run``)."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"ok": True, "vendor": connection.vendor}
    except Exception as exc:
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    ok, detail = _broker_ok()
    checks["broker"] = {"ok": ok, "transport": detail}
    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )


def not_found(request, exception=None):
    """404: JSON under /api/ (clients parse it; the OpenAPI schema documents it), the normal page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
