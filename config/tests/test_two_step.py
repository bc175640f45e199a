"""Optional TOTP second factor for supervisors (django-otp): enrol with a QR code, then verify after password."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases.models import AuditLog

PASSWORD = "pass-word-123"


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _sign_in(client, user):
    return client.post(reverse("login"), {"username": user.username, "password": PASSWORD})


@pytest.mark.django_db
def test_supervisor_enrols_with_a_qr_code_and_then_needs_a_code_after_the_password(client, supervisor):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        # given a signed-in supervisor without a second factor: supervisor pages open directly
        _sign_in(client, supervisor)
        assert client.get(reverse("cases:queues")).status_code == 200
        # when they open the set-up page they see a QR code (inline SVG, no script) and the key
        page = client.get(reverse("account:otp_setup"))
        assert page.status_code == 200
        assert b"<svg" in page.content
        device = TOTPDevice.objects.get(user=supervisor, confirmed=False)
        # a wrong code is refused with a message, the device stays unconfirmed
        bad = client.post(reverse("account:otp_setup"), {"token": "000000" if _code(device) != "000000" else "111111"})
        assert bad.status_code == 400
        assert b"not valid" in bad.content
        # the right code turns it on (and is audited)
        traveller.shift(timedelta(seconds=31))
        ok = client.post(reverse("account:otp_setup"), {"token": _code(device)})
        assert ok.status_code == 302
        device.refresh_from_db()
        assert device.confirmed
        assert AuditLog.objects.filter(action="otp.enrolled", object_id=str(supervisor.pk)).exists()
        client.post(reverse("logout"))

        # when they sign in again, the password alone does not open supervisor pages
        traveller.shift(timedelta(minutes=5))
        _sign_in(client, supervisor)
        blocked = client.get(reverse("cases:queues"))
        assert blocked.status_code == 302
        assert blocked["Location"].startswith(reverse("account:otp_verify"))
        assert client.get(reverse("admin:index")).status_code == 302
        # a wrong code keeps them out
        assert client.post(reverse("account:otp_verify"), {"token": "12345x"}).status_code == 400
        assert client.get(reverse("cases:queues")).status_code == 302
        # (each failure makes the device wait longer before the next try: brute force is throttled)
        traveller.shift(timedelta(seconds=2))
        # the current code lets them in and sends them where they were going
        done = client.post(reverse("account:otp_verify"), {"token": _code(device), "next": reverse("cases:queues")})
        assert done.status_code == 302
        assert done["Location"] == reverse("cases:queues")
        assert client.get(reverse("cases:queues")).status_code == 200


@pytest.mark.django_db
def test_verify_ignores_an_offsite_next(client, supervisor):
    device = TOTPDevice.objects.create(user=supervisor, name="app", confirmed=True)
    with time_machine.travel(timezone.now(), tick=False):
        _sign_in(client, supervisor)
        done = client.post(reverse("account:otp_verify"), {"token": _code(device), "next": "https://evil.example/"})
    assert done.status_code == 302
    assert "evil" not in done["Location"]


@pytest.mark.django_db
def test_associates_cannot_enrol_and_are_never_asked_for_a_code(client, agent):
    client.force_login(agent)
    assert client.get(reverse("account:otp_setup")).status_code == 403
    assert not TOTPDevice.objects.filter(user=agent).exists()
    assert client.get(reverse("cases:queues")).status_code == 200
