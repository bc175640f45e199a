"""Staff account security pages: the supervisors' optional TOTP second factor (enrol with a QR code, verify)."""

from base64 import b32encode

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases.errors import ApplicationError
from cases.models import Role
from cases.selectors import agent_profile_of
from cases.services.security import totp_device_confirm, totp_device_start, totp_verify


def _qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    svg = image.to_string(encoding="unicode")
    return svg[svg.index("<svg") :]  # drop the XML declaration: the SVG is inlined in the page


def _safe_next(request, fallback: str = "cases:queues") -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return nxt
    return fallback


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request):
    profile = agent_profile_of(request.user)
    if profile is None or profile.role != Role.SUPERVISOR:
        raise PermissionDenied("Two-step sign-in is offered to supervisors.")
    confirmed = TOTPDevice.objects.filter(user=request.user, confirmed=True).exists()
    if confirmed and not request.user.is_verified():
        return redirect(f"{_verify_url()}?next={request.path}")
    error = None
    if request.method == "POST":
        try:
            totp_device_confirm(request=request, user=request.user, token=request.POST.get("token", ""))
        except ApplicationError as exc:
            error = exc.message
        else:
            messages.success(request, "Two-step sign-in is on. You will be asked for a code after your password.")
            return redirect("cases:queues")
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).order_by("-id").first()
    if device is None:
        device = totp_device_start(user=request.user)
    context = {
        "already_enabled": confirmed,
        "qr_svg": mark_safe(_qr_svg(device.config_url)),
        "secret": b32encode(device.bin_key).decode(),
        "error": error,
    }
    return render(request, "cases/account/otp_setup.html", context, status=400 if error else 200)


def _verify_url() -> str:
    from django.urls import reverse

    return reverse("account:otp_verify")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request):
    error = None
    if request.method == "POST":
        try:
            totp_verify(request=request, user=request.user, token=request.POST.get("token", ""))
        except ApplicationError as exc:
            error = exc.message
        else:
            return redirect(_safe_next(request))
    context = {"next": _safe_next(request, fallback=""), "error": error}
    return render(request, "cases/account/otp_verify.html", context, status=400 if error else 200)
