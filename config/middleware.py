"""Request-level hardening: body size cap, staff session timeouts and the supervisors' second factor.

Both read only the session (already loaded for signed-in users), so they add no query to a request — but for the
staff session's "last seen" stamp, at most once a minute per session, which also stamps the associate's profile
(``cases.services.queue.agent_seen``: presence follows the associate).
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from cases import sessions
from cases.services.queue import agent_seen


class RequestSizeLimitMiddleware:
    """Refuse bodies over DATA_UPLOAD_MAX_MEMORY_SIZE with 413 before anything reads them.

    Django enforces that limit only when ``request.body``/``request.POST`` is read; DRF's parsers read the stream
    directly, so without this an API request could stream any amount of JSON into memory.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            detail = f"Request body too large (limit {limit} bytes)."
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": detail, "code": "request_too_large"}, status=413)
            return HttpResponse(detail, status=413, content_type="text/plain")
        return self.get_response(request)


def _wants_json(request) -> bool:
    return request.path.startswith("/api/")


class StaffSessionMiddleware:
    """Staff sessions end after RH_STAFF_SESSION idle/absolute limits; a supervisor with a confirmed TOTP device
    must pass the second factor before any back-office page, the admin or the session-authenticated API."""

    OTP_PROTECTED_PREFIXES = ("/agent/", "/admin/", "/api/v1/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.get(sessions.STAFF_KEY):
            response = self._check_timeouts(request)
            if response is None:
                response = self._check_second_factor(request)
            if response is not None:
                return response
        return self.get_response(request)

    def _check_timeouts(self, request):
        conf = settings.RH_STAFF_SESSION
        session = request.session
        now = time.time()
        auth_at = session.get(sessions.AUTH_AT_KEY, now)
        seen_at = session.get(sessions.SEEN_AT_KEY, auth_at)
        if now - seen_at > conf["IDLE_SECONDS"] or now - auth_at > conf["ABSOLUTE_SECONDS"]:
            logout(request)
            if _wants_json(request):
                return JsonResponse(
                    {"detail": "Your session has expired. Sign in again.", "code": "session_expired"}, status=401
                )
            messages.info(request, "Your session has expired. Please sign in again.")
            return redirect(f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}")
        if now - seen_at >= conf["TOUCH_EVERY_SECONDS"]:
            session[sessions.SEEN_AT_KEY] = now
            user_id = session.get(SESSION_KEY)
            if user_id is not None:  # presence follows the associate: their page is open (agent_presence_sweep)
                agent_seen(user_id=user_id)
        return None

    def _check_second_factor(self, request):
        if not request.session.get(sessions.OTP_REQUIRED_KEY):
            return None
        if not request.path.startswith(self.OTP_PROTECTED_PREFIXES):
            return None
        user = request.user
        if user.is_authenticated and user.is_verified():
            return None
        if _wants_json(request):
            return JsonResponse({"detail": "Second factor required.", "code": "otp_required"}, status=403)
        return redirect(f"{reverse('account:otp_verify')}?{urlencode({'next': request.get_full_path()})}")
