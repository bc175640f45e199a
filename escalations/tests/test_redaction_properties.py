"""Property tests: no Luhn-valid card number (12–19 digits, spaces or dashes between digits) survives redaction,
neither in ``redact`` itself nor in any field the front door stores (Message, ConversationMessage, Case.subject,
IntakeEvent.payload, TriageDecision.message, SocialPost.text)."""

import json
import re
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.models import Case, Message
from cases.redaction import CARD_MASK, PASSWORD_MASK, luhn_valid, redact
from cases.services.cases import case_create
from customers.tests.factories import CustomerFactory
from escalations.models import ConversationMessage, IntakeEvent, SocialPost, TriageDecision
from escalations.services.assistant import conversation_reply, conversation_start
from escalations.services.intake import intake_social

JOIN = re.compile(r"(?<=[0-9])[ \t\-]{1,3}(?=[0-9])")


def _check_digit(body: str) -> str:
    for d in "0123456789":
        if luhn_valid(body + d):
            return d
    raise AssertionError("unreachable")


@st.composite
def cards(draw) -> tuple[str, str]:
    """(digits, as typed): a Luhn-valid number of 12–19 digits, grouped with spaces or dashes."""
    length = draw(st.integers(min_value=12, max_value=19))
    body = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    digits = body + _check_digit(body)
    typed, i = "", 0
    while i < len(digits):
        size = draw(st.integers(min_value=1, max_value=6))
        typed += digits[i : i + size]
        i += size
        if i < len(digits):
            typed += draw(st.sampled_from(["", " ", "-", " - ", "  ", "--", "\t"]))
    return digits, typed


surrounding = st.text(max_size=60)


def survives(digits: str, text: str) -> bool:
    return digits in JOIN.sub("", text)


@given(card=cards(), before=surrounding, after=surrounding)
def test_no_card_survives_redaction(card, before, after):
    digits, typed = card

    out = redact(before + typed + after)

    assert not survives(digits, out)
    assert CARD_MASK in out


@given(card=cards(), before=surrounding, after=surrounding)
def test_redaction_is_idempotent(card, before, after):
    once = redact(before + card[1] + after)

    assert redact(once) == once


@given(text=st.text(alphabet=st.characters(blacklist_categories=["Nd"], blacklist_characters="\x00"), max_size=200))
def test_text_without_digits_or_password_words_is_untouched(text):
    if re.search(r"(?i)p(ass|w|in)|pwd", text):
        return
    assert redact(text) == text


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("my password is hunter2", "my password is"),
        ("Password: 'open sesame' thanks", "thanks"),
        ("pwd=Tr0ub4dor&3", "pwd="),
        ("pin 4321", "pin"),
        ("my passcode: 98ab!", "my passcode:"),
    ],
)
def test_passwords_are_masked(typed, kept):
    out = redact(typed)

    assert PASSWORD_MASK in out and kept in out
    assert not any(secret in out for secret in ("hunter2", "open sesame", "Tr0ub4dor", "4321", "98ab"))


@pytest.mark.parametrize(
    "text",
    ["I forgot my password yesterday", "order 112-0000001-0000002", "call 555-0123", "please pass the salt"],
)
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(card=cards(), before=st.text(max_size=40), after=st.text(max_size=40))
def test_no_card_survives_in_any_stored_field(departments, card, before, after):
    digits, typed = card
    text = f"x {before}{typed}{after} y"
    customer = CustomerFactory(social_handle=f"h{uuid.uuid4().hex[:12]}")
    conversation = conversation_start(customer=customer)

    conversation_reply(conversation_id=conversation.pk, customer=customer, text=text)
    case = case_create(
        customer=customer, channel="chat", department=departments["general"], subject=text, first_message=text
    )
    social = intake_social(platform="x", post_id=uuid.uuid4().hex, handle=customer.social_handle, text=text)

    stored = [
        *ConversationMessage.objects.filter(conversation=conversation).values_list("body", flat=True),
        *TriageDecision.objects.filter(conversation=conversation).values_list("message", flat=True),
        Case.objects.get(pk=case.pk).subject,
        *Message.objects.filter(case__in=[case, social.case]).values_list("body", flat=True),
        Case.objects.get(pk=social.case.pk).subject,
        json.dumps(IntakeEvent.objects.get(pk=social.event.pk).payload),
        SocialPost.objects.get(case=social.case).text,
        *TriageDecision.objects.filter(case=social.case).values_list("message", flat=True),
    ]
    for value in stored:
        assert not survives(digits, value), value


def test_log_lines_are_redacted():
    import logging

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "customer wrote %s", ("card 4111 1111 1111 1111",), None)

    from cases.redaction import RedactingFilter

    assert RedactingFilter().filter(record) is True
    assert "4111" not in record.getMessage() and CARD_MASK in record.getMessage()


@pytest.mark.django_db
def test_nul_characters_never_reach_postgresql(departments):
    customer = CustomerFactory()
    conversation = conversation_start(customer=customer)

    conversation_reply(conversation_id=conversation.pk, customer=customer, text="where\x00 is my package")
    case = case_create(
        customer=customer, channel="chat", department=departments["general"], subject="a\x00b", first_message="c\x00d"
    )

    assert case.subject == "ab" and case.messages.get().body == "cd"
    assert ConversationMessage.objects.filter(conversation=conversation, body="where is my package").exists()
