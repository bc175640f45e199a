"""API keys: hashed at rest, scoped, rotated and revoked; `manage.py apikey`; signed webhooks."""

import json
import time
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from cases.models import ApiKey, AuditLog
from cases.services.api_keys import api_key_create, api_key_revoke, api_key_rotate, hash_key
from cases.webhooks import SignatureError, webhook_sign, webhook_signature_verify

PROBE = "/probe/intake/"


def _call(api_client, raw, path=PROBE, **extra):
    return api_client.post(path, {"x": 1}, format="json", HTTP_AUTHORIZATION=f"Bearer {raw}", **extra)


@pytest.mark.django_db
def test_only_a_hash_of_the_key_is_stored_and_creation_is_audited():
    key, raw = api_key_create(name="assistant", scopes=["intake"])
    assert raw.startswith(f"rh_{key.prefix}_")
    stored = ApiKey.objects.get(pk=key.pk)
    assert stored.key_hash == hash_key(raw)
    assert raw not in json.dumps(list(ApiKey.objects.values()), default=str)
    assert AuditLog.objects.filter(action="api_key.created", object_id=str(key.pk)).exists()


@pytest.mark.django_db
def test_unknown_scopes_are_refused():
    from cases.errors import ApplicationError

    with pytest.raises(ApplicationError) as exc:
        api_key_create(name="x", scopes=["intake", "root"])
    assert "scopes" in exc.value.fields


@pytest.mark.django_db
@pytest.mark.urls("config.tests.urls_probe")
def test_rotation_replaces_the_key_and_the_old_one_stops_at_once(api_client):
    old, old_raw = api_key_create(name="assistant", scopes=["intake"])
    assert _call(api_client, old_raw).status_code == 201
    new, new_raw = api_key_rotate(key_id=old.pk)
    assert new.scopes == ["intake"] and new.name == "assistant"
    assert new.webhook_secret != old.webhook_secret
    assert _call(api_client, new_raw).status_code == 201
    assert _call(api_client, old_raw).status_code == 401


@pytest.mark.django_db
@pytest.mark.urls("config.tests.urls_probe")
def test_rotation_with_a_grace_period_keeps_the_old_key_working_until_it_ends(api_client):
    old, old_raw = api_key_create(name="telephony", scopes=["intake"])
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        api_key_rotate(key_id=old.pk, grace=timedelta(minutes=10))
        assert _call(api_client, old_raw).status_code == 201
        traveller.shift(timedelta(minutes=11))
        assert _call(api_client, old_raw).status_code == 401


@pytest.mark.django_db
@pytest.mark.urls("config.tests.urls_probe")
def test_revoked_keys_and_keys_without_the_scope_are_refused(api_client):
    key, raw = api_key_create(name="carrier", scopes=["carrier"])
    # wrong scope: authenticated but forbidden
    assert _call(api_client, raw).status_code == 403
    intake, intake_raw = api_key_create(name="bot", scopes=["intake"])
    api_key_revoke(key_id=intake.pk)
    api_key_revoke(key_id=intake.pk)  # idempotent
    assert _call(api_client, intake_raw).status_code == 401
    assert AuditLog.objects.filter(action="api_key.revoked", object_id=str(intake.pk)).count() == 1
    # a key with a valid prefix but the wrong secret
    assert _call(api_client, f"rh_{key.prefix}_not-the-secret").status_code == 401


@pytest.mark.django_db
def test_apikey_management_command_creates_lists_rotates_and_revokes():
    out = StringIO()
    call_command("apikey", "create", "Carrier feed", "--scope", "carrier", stdout=out)
    raw = next(line.split()[-1] for line in out.getvalue().splitlines() if line.startswith("api key:"))
    key = ApiKey.objects.get(name="Carrier feed")
    assert key.key_hash == hash_key(raw)

    listing = StringIO()
    call_command("apikey", "list", stdout=listing)
    assert key.prefix in listing.getvalue() and "active" in listing.getvalue()
    assert raw not in listing.getvalue() and key.webhook_secret not in listing.getvalue()

    rotated = StringIO()
    call_command("apikey", "rotate", key.prefix, stdout=rotated)
    key.refresh_from_db()
    assert key.revoked_at is not None
    new_prefix = next(line.split()[-1] for line in rotated.getvalue().splitlines() if line.startswith("prefix:"))
    call_command("apikey", "revoke", new_prefix, stdout=StringIO())
    assert not ApiKey.objects.get(prefix=new_prefix).is_active


@pytest.mark.django_db
def test_admin_shows_keys_read_only_without_secrets(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "x-very-long-pass")
    key, raw = api_key_create(name="assistant", scopes=["intake"])
    client.force_login(admin)
    page = client.get(f"/admin/cases/apikey/{key.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert key.webhook_secret not in html and raw not in html
    assert 'name="_save"' not in html
    assert client.get("/admin/cases/apikey/add/").status_code == 403


# --- signed webhooks ----------------------------------------------------------------------------------------


def test_a_correct_signature_verifies_and_any_change_is_refused():
    body = b'{"handle": "@carol", "text": "order late"}'
    header = webhook_sign(secret="s3cret", body=body)
    webhook_signature_verify(secret="s3cret", body=body, header=header)
    for secret, payload, hdr in [
        ("other", body, header),
        ("s3cret", body + b" ", header),
        ("s3cret", body, header.replace("v1=", "v1=0")),
        ("s3cret", body, ""),
        ("s3cret", body, "t=abc,v1=00"),
    ]:
        with pytest.raises(SignatureError):
            webhook_signature_verify(secret=secret, body=payload, header=hdr)


def test_the_untimed_sha256_form_is_accepted_only_where_allowed():
    import hashlib
    import hmac

    body = b'{"event_id": "e1"}'
    header = "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
    webhook_signature_verify(secret="k", body=body, header=header, allow_untimed=True)
    with pytest.raises(SignatureError):
        webhook_signature_verify(secret="k", body=body, header=header)
    with pytest.raises(SignatureError):
        webhook_signature_verify(secret="k", body=body + b"x", header=header, allow_untimed=True)


def test_an_old_signature_is_refused_as_a_replay():
    body = b"{}"
    header = webhook_sign(secret="k", body=body, timestamp=int(time.time()) - 301)
    with pytest.raises(SignatureError):
        webhook_signature_verify(secret="k", body=body, header=header)
    webhook_signature_verify(secret="k", body=body, header=header, tolerance=600)


@given(body=st.binary(max_size=512), secret=st.text(min_size=1, max_size=64))
def test_sign_then_verify_roundtrips_for_any_body(body, secret):
    webhook_signature_verify(secret=secret, body=body, header=webhook_sign(secret=secret, body=body))


@pytest.mark.django_db
@pytest.mark.urls("config.tests.urls_probe")
def test_webhook_endpoint_accepts_only_signed_bodies(client):
    key, raw = api_key_create(name="social listener", scopes=["intake"])
    body = json.dumps({"handle": "@carol"}).encode()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    signed = client.post(
        "/probe/webhook/",
        body,
        content_type="application/json",
        HTTP_X_RH_SIGNATURE=webhook_sign(secret=key.webhook_secret, body=body),
        **auth,
    )
    assert signed.status_code == 200
    assert signed.json() == {"received": {"handle": "@carol"}}
    unsigned = client.post("/probe/webhook/", body, content_type="application/json", **auth)
    assert unsigned.status_code == 401
    forged = client.post(
        "/probe/webhook/",
        body,
        content_type="application/json",
        HTTP_X_RH_SIGNATURE=webhook_sign(secret="guess", body=body),
        **auth,
    )
    assert forged.status_code == 401
