"""Redaction of secrets typed into free text: card numbers (Luhn-valid, 12–19 digits, spaces or dashes allowed)
and passwords. Applied by every service before text is stored, logged or shown."""

import re

CARD_MASK = "[card number removed]"
PASSWORD_MASK = "[password removed]"

# A run of 12–19 digits, optionally separated by single spaces or dashes.
_CARD_CANDIDATE = re.compile(r"(?<![0-9])(?:[0-9][ \-]?){11,18}[0-9](?![0-9])")
_PASSWORD = re.compile(
    r"(?i)\b(pass(?:word|wd|code|phrase)?|pwd|pin)\b(\s*(?:is|was|=|:|-)?\s*)(?:[\"'])?(\S+?)(?:[\"'])?(?=[\s.,;!?]|$)"
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _mask_cards(text: str) -> str:
    def repl(match: re.Match) -> str:
        raw = match.group(0)
        digits = re.sub(r"[ \-]", "", raw)
        if 12 <= len(digits) <= 19 and luhn_valid(digits):
            return CARD_MASK
        return raw

    return _CARD_CANDIDATE.sub(repl, text)


def redact(text: str) -> str:
    """Mask card numbers and passwords. Idempotent: ``redact(redact(x)) == redact(x)``."""
    if not text:
        return text
    text = _mask_cards(text)
    return _PASSWORD.sub(
        lambda m: f"{m.group(1)}{m.group(2)}{PASSWORD_MASK}" if m.group(3) != PASSWORD_MASK else m.group(0), text
    )
