"""Phone numbers are stored in E.164 form; parsing uses Google's libphonenumber port (``phonenumbers``)."""

import phonenumbers
from django.core.exceptions import ValidationError

E164_REGEX = r"^\+[1-9][0-9]{6,14}$"


def normalize_phone(raw: str, *, default_region: str = "US") -> str:
    """Return ``raw`` as E.164 (``+14155550123``) or raise ``ValidationError`` with a message a person can act on."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError("Enter a phone number.", code="required")
    if len(text) > 32:
        raise ValidationError("That phone number is too long.", code="too_long")
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise ValidationError("Enter a valid phone number, e.g. +1 415 555 0123.", code="invalid") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError("Enter a valid phone number, e.g. +1 415 555 0123.", code="invalid")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    if normalize_phone(value) != value:
        raise ValidationError("Phone numbers are stored in E.164 form, e.g. +14155550123.", code="not_e164")
