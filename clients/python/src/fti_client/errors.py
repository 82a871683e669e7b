"""Exceptions of the FTI client: one class per failure a caller can act on."""

from __future__ import annotations

from typing import Any, Dict, Optional


class FtiError(Exception):
    """Base class of every error the client raises."""


class FtiConnectionError(FtiError):
    """The service (or the object store, for training data) could not be reached."""


class FtiApiError(FtiError):
    """The service answered with an error status.

    ``message`` is the server's own message (what is wrong, where, how to fix it); ``status`` the
    HTTP status; ``body`` the whole error answer (422 event pushes list every refused event there).
    """

    def __init__(self, status: int, message: str, *, method: str, path: str, body: Optional[Dict[str, Any]] = None):
        super().__init__(f"HTTP {status} from {method} {path}: {message}")
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        self.body: Dict[str, Any] = body if body is not None else {"error": message}


class BadRequestError(FtiApiError):
    """400: malformed input (a bad name, version, field or body)."""


class AuthenticationError(FtiApiError):
    """401: no API key, or an unknown or revoked one."""


class PermissionDeniedError(FtiApiError):
    """403: the API key lacks the scope the call needs (or may not call this deployment)."""


class NotFoundError(FtiApiError):
    """404: no such feature group, view, version, training dataset, split or deployment."""


class UnprocessableError(FtiApiError):
    """422: well-formed input the service cannot use (a key of the wrong type, an invalid event)."""


class ServiceUnavailableError(FtiApiError):
    """503: a dependency of the service is down; ``retry_after`` says when to try again (seconds)."""

    def __init__(self, status: int, message: str, *, method: str, path: str, body: Optional[Dict[str, Any]] = None):
        super().__init__(status, message, method=method, path=path, body=body)
        retry = self.body.get("retryAfterSeconds")
        self.retry_after: Optional[float] = float(retry) if isinstance(retry, (int, float)) else None


_BY_STATUS = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableError,
    503: ServiceUnavailableError,
}


def error_for(status: int, message: str, *, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> FtiApiError:
    """The exception for an error answer."""
    cls = _BY_STATUS.get(status, FtiApiError)
    return cls(status, message, method=method, path=path, body=body)
