"""Every API error has one shape: detail, code and field errors as {"path": ["message", ...]}."""

from config.exceptions import _flatten


def test_nested_serializer_errors_flatten_to_dotted_paths():
    errors = {
        "customer_id": ["Invalid pk."],
        "transcript": {"non_field_errors": ["This list may not be empty."]},
        "items": [{}, {"text": ["Required."]}],
    }
    assert _flatten(errors) == {
        "customer_id": ["Invalid pk."],
        "transcript.non_field_errors": ["This list may not be empty."],
        "items.1.text": ["Required."],
    }
