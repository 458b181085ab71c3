"""The domain errors every layer raises; reform_ledger.drf turns them into JSON answers, views into messages."""


class ApplicationError(Exception):
    """A domain error with a message for the user (Chinese). `field` names what was wrong, if one thing was."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra or {}


class PermissionDeniedError(ApplicationError):
    status_code = 403


class ConflictError(ApplicationError):
    """A stale edit: someone saved the object after the caller read it."""

    status_code = 409
