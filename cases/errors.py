"""Business-rule errors. Services raise these; one DRF handler and one htmx partial render them."""


class ApplicationError(Exception):
    http_status = 400
    code = "invalid"

    def __init__(self, message: str, *, fields: dict | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code


class NotAllowed(ApplicationError):
    http_status = 403
    code = "not_allowed"


class Conflict(ApplicationError):
    http_status = 409
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"
