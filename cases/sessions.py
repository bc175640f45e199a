"""Staff session bookkeeping on sign-in / sign-out (signals wired in CasesConfig.ready).

At sign-in the session learns whether its user is staff and whether a second factor is required, so the
per-request checks in config.middleware.StaffSessionMiddleware read only the session and add no query.
"""

import time

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save
from django.dispatch import receiver

STAFF_KEY = "rh_staff"
AUTH_AT_KEY = "rh_auth_at"
SEEN_AT_KEY = "rh_seen_at"
OTP_REQUIRED_KEY = "rh_otp_required"


def _client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@receiver(user_logged_in, dispatch_uid="rh_staff_session_start")
def _on_login(sender, request, user, **kwargs):
    from cases.services.security import staff_session_start

    if request is None or not hasattr(request, "session"):
        return
    staff_session_start(session=request.session, user=user, ip_address=_client_ip(request), now=time.time())


@receiver(user_logged_out, dispatch_uid="rh_staff_session_end")
def _on_logout(sender, request, user, **kwargs):
    from cases.services.security import staff_session_end

    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        staff_session_end(session_key=key, user=user)


def _on_user_saved(sender, instance, update_fields=None, **kwargs):
    """Deactivated in the admin (or anywhere): the account's staff sessions end now."""
    if instance.is_active or (update_fields is not None and "is_active" not in update_fields):
        return
    from cases.services.security import user_sessions_end

    user_sessions_end(user=instance)


def connect_signals() -> None:
    from django.contrib.auth import get_user_model

    post_save.connect(_on_user_saved, sender=get_user_model(), dispatch_uid="rh_user_deactivated")
