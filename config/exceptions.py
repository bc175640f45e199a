"""One place that turns a broken business rule into an API response (CONVENTIONS: ApplicationError)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from cases.errors import ApplicationError


def _flatten(errors, prefix: str = "") -> dict[str, list[str]]:
    """Nested serializer errors as ``{"transcript.0.text": ["..."]}``: every value a list of messages."""
    flat: dict[str, list[str]] = {}
    items = errors.items() if isinstance(errors, dict) else enumerate(errors)
    for name, value in items:
        path = f"{prefix}.{name}" if prefix else str(name)
        if isinstance(value, dict):
            flat.update(_flatten(value, path))
        elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
            for i, v in enumerate(value):
                if isinstance(v, dict | list):
                    flat.update(_flatten(v, f"{path}.{i}"))
                elif v:
                    flat.setdefault(path, []).append(str(v))
        elif isinstance(value, list):
            flat[path] = [str(v) for v in value]
        else:
            flat[path] = [str(value)]
    return flat


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    if isinstance(exc, ApplicationError):
        body = {"detail": exc.message, "code": exc.code}
        if exc.fields:
            body["errors"] = exc.fields
        return Response(body, status=exc.http_status)
    response = exception_handler(exc, context)
    if isinstance(exc, exceptions.ValidationError) and response is not None:
        # One error shape for the whole API (docs/API.md): detail + code + field errors.
        errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"detail": "Invalid input.", "code": "invalid", "errors": _flatten(errors)}
    if response is not None and response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
        wait = getattr(exc, "wait", None)
        if wait:
            response["Retry-After"] = str(int(wait) + 1)
    return response
