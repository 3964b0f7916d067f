"""Edge's error root. Every error carries its HTTP status, a title and a stable `code`; one
handler renders them as `application/problem+json` (RFC 9457) with `type`, `title`,
`status`, `detail` and `code`. Details say what was wrong and how to fix it."""

from __future__ import annotations

from typing import Any


class EdgeError(Exception):
    """Base of every error Edge reports to a client."""

    status: int = 500
    code: str = "internal_error"
    title: str = "Internal error"
    retry_after_s: int | None = None  # sent as `Retry-After` when set

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """The problem+json body."""
        body: dict[str, Any] = {
            "type": f"https://steward.local/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class BadRequest(EdgeError):
    status, code, title = 400, "bad_request", "Bad request"


class Unauthorized(EdgeError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(EdgeError):
    status, code, title = 403, "forbidden", "Not allowed for your role"


class NotFound(EdgeError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(EdgeError):
    status, code, title = 409, "conflict", "Conflict"


class MisdirectedRequest(EdgeError):
    status, code, title = 421, "host_not_allowed", "Host not allowed"


class PayloadTooLarge(EdgeError):
    status, code, title = 413, "payload_too_large", "Request body too large"


class Unprocessable(EdgeError):
    status, code, title = 422, "validation_failed", "Invalid request"


class ServiceUnavailable(EdgeError):
    status, code, title = 503, "service_unavailable", "A service Steward needs is unavailable"


class StorageUnavailable(EdgeError):
    """The database refused a write for a reason outside the request (no space, or another
    process holding its lock); nothing of the request was saved, and retrying later works."""

    status, code, title = 503, "storage_unavailable", "Steward's database is unavailable"


class StorageFull(StorageUnavailable):
    status, code, title = 507, "storage_full", "Steward's disk is full"


class StorageBusy(StorageUnavailable):
    status, code, title = 503, "database_busy", "Steward's database is busy"
    retry_after_s = 2
