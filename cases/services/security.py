"""Staff sessions, deactivation and the supervisors' TOTP second factor (docs/SECURITY.md)."""

from importlib import import_module

from django.conf import settings
from django.db import transaction
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases import sessions
from cases.errors import ApplicationError, NotAllowed
from cases.models import AgentProfile, Role, StaffSession
from cases.selectors import agent_profile_of
from cases.services.audit import audit_record
from cases.services.queue import agent_seen, agent_set_presence

OTP_DEVICE_NAME = "Authenticator app"


def _is_staff_user(user) -> bool:
    return bool(user.is_staff or user.is_superuser or agent_profile_of(user) is not None)


def supervisor_has_confirmed_totp(*, user) -> bool:
    profile = agent_profile_of(user)
    if profile is None or profile.role != Role.SUPERVISOR:
        return False
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def staff_session_start(*, session, user, ip_address: str | None, now: float) -> None:
    """Called at every sign-in: stamp a staff session for the timeout checks and remember its key."""
    if not _is_staff_user(user):
        return
    session[sessions.STAFF_KEY] = True
    session[sessions.AUTH_AT_KEY] = now
    session[sessions.SEEN_AT_KEY] = now
    session[sessions.OTP_REQUIRED_KEY] = supervisor_has_confirmed_totp(user=user)
    if session.session_key is None:
        session.save()
    StaffSession.objects.update_or_create(
        session_key=session.session_key, defaults={"user": user, "ip_address": ip_address}
    )
    agent_seen(user_id=user.pk)  # the session's first last-seen stamp is the profile's too (presence sweep)


@transaction.atomic
def staff_session_end(*, session_key: str, user) -> None:
    """Called at every sign-out (and idle or absolute timeout): forget the session, and when it was the associate's
    last signed-in session, take them offline, so the roster stops showing a signed-out associate as available
    and no callback is offered to them."""
    StaffSession.objects.filter(session_key=session_key).delete()
    if user is None or getattr(user, "pk", None) is None:
        return
    if StaffSession.objects.filter(user=user).exists() or not AgentProfile.objects.filter(user=user).exists():
        return
    agent_set_presence(user=user, presence=AgentProfile.Presence.OFFLINE)


def user_sessions_end(*, user) -> int:
    """End every recorded session of ``user`` at once (session store rows and their bookkeeping)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(StaffSession.objects.filter(user=user).values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    StaffSession.objects.filter(user=user).delete()
    return len(keys)


@transaction.atomic
def user_deactivate(*, user, actor, ip_address: str | None = None) -> int:
    """Deactivate an account: it cannot sign in, and its open sessions end now. Returns the sessions ended."""
    if actor is not None and getattr(actor, "pk", None) == user.pk:
        raise NotAllowed("You cannot deactivate your own account.")
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False
    ended = user_sessions_end(user=user)
    audit_record(
        action="user.deactivated",
        obj=user,
        actor=actor,
        data={"sessions_ended": ended},
        ip_address=ip_address,
    )
    return ended


# --- TOTP --------------------------------------------------------------------------------------------------


def totp_device_start(*, user) -> TOTPDevice:
    """Begin enrolment: one unconfirmed device per user (a new start replaces an unconfirmed one)."""
    profile = agent_profile_of(user)
    if profile is None or profile.role != Role.SUPERVISOR:
        raise NotAllowed("Two-step sign-in is offered to supervisors.")
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=OTP_DEVICE_NAME, confirmed=False)


@transaction.atomic
def totp_device_confirm(*, request, user, token: str) -> TOTPDevice:
    """Finish enrolment with a first code from the app; from then on the second factor is required."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        raise ApplicationError("Start the set-up again: no pending authenticator.", code="otp_no_pending")
    if not device.verify_token((token or "").strip()):
        raise ApplicationError(
            "That code is not valid. Check the app's clock and try again.",
            fields={"token": ["Invalid code."]},
            code="otp_invalid",
        )
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    otp_login(request, device)
    request.session[sessions.OTP_REQUIRED_KEY] = True
    audit_record(action="otp.enrolled", obj=user, actor=user, data={"device": device.persistent_id})
    return device


def totp_verify(*, request, user, token: str) -> None:
    """The verify step after the password: marks this session as having passed the second factor."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None or not device.verify_token((token or "").strip()):
        raise ApplicationError("That code is not valid.", fields={"token": ["Invalid code."]}, code="otp_invalid")
    otp_login(request, device)
