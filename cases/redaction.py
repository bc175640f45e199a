"""Redaction of secrets typed into free text: card numbers (Luhn-valid, 12–19 digits, spaces or dashes allowed)
and passwords. Applied by every service before text is stored, logged or shown.

Cards: every run of digits joined by up to three spaces/dashes/tabs is examined; if any contiguous 12–19 digit
window of it is Luhn-valid, the whole run is masked (so a card glued to other digits cannot slip through).
Passwords: "password/passcode/pwd/pin" followed by is/was/=/: and a token, or directly by a token that looks like
a secret (has a digit or a symbol), mask the token.
"""

import logging
import re

CARD_MASK = "[card number removed]"
PASSWORD_MASK = "[password removed]"

_DIGIT_RUN = re.compile(r"[0-9](?:[ \t\-]{0,3}[0-9])*")
_SEP = re.compile(r"[^0-9]")
_KEYWORD = r"(?<!\[)(?:pass(?:word|wd|code|phrase)|pass\s+word|pwd|pw|pin(?:\s*code)?)"
_QUOTED = re.compile(rf"(?i)\b({_KEYWORD})(\s*(?:is|was|=|:|->|-)?\s*)([\"“‘'])([^\"”’'\n]{{1,100}})([\"”’'])")
_PASSWORD_EXPLICIT = re.compile(
    rf"(?i)\b({_KEYWORD})(\s*(?:is|was|=|:|->|-)\s*|\s+is\s*:?\s*)(?![\s>]|\[password)(\S+?)(?=[\s,;)]|[.!?](?:\s|$)|$)"
)
_PASSWORD_IMPLICIT = re.compile(
    rf"(?i)\b({_KEYWORD})(\s+)(?!\[password|[=:\-]|->|is\b|was\b)(?=\S*[0-9!@#$%^&*_+=~])(\S+?)(?=[\s,;)]|[.!?](?:\s|$)|$)"
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


def contains_card(digits: str) -> bool:
    """True if any contiguous 12–19 digit window of ``digits`` is Luhn-valid."""
    n = len(digits)
    if n < 12:
        return False
    for length in range(12, min(19, n) + 1):
        for start in range(0, n - length + 1):
            if luhn_valid(digits[start : start + length]):
                return True
    return False


def _mask_cards(text: str) -> str:
    def repl(match: re.Match) -> str:
        raw = match.group(0)
        return CARD_MASK if contains_card(_SEP.sub("", raw)) else raw

    return _DIGIT_RUN.sub(repl, text)


def _mask_passwords(text: str) -> str:
    def keep_keyword(m: re.Match) -> str:
        return f"{m.group(1)}{m.group(2)}{PASSWORD_MASK}"

    text = _QUOTED.sub(lambda m: m.group(0) if m.group(4) == PASSWORD_MASK else keep_keyword(m), text)
    text = _PASSWORD_EXPLICIT.sub(keep_keyword, text)
    return _PASSWORD_IMPLICIT.sub(keep_keyword, text)


def redact(text: str) -> str:
    """Mask card numbers and passwords. Idempotent: ``redact(redact(x)) == redact(x)``.

    NUL characters are dropped as well: PostgreSQL text cannot store them, and every stored text passes here."""
    if not text:
        return text
    return _mask_passwords(_mask_cards(text.replace("\x00", "")))


class RedactingFilter(logging.Filter):
    """Logging filter: redacts the formatted message of every record passing through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix here
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
