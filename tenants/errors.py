"""Service refusals: a ServiceError carries a message safe to show and an ErrorCode, which
is what the socket protocol sends and what fixes an API answer's HTTP status."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # 400: the request itself is wrong
    INVALID = "invalid"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    BAD_CLIENT_MSG_ID = "bad_client_msg_id"
    EMAIL = "email"
    PASSWORD = "password"
    HELLO_FIRST = "hello_first"
    ALREADY_IDENTIFIED = "already_identified"
    # 403: not allowed for this caller
    FORBIDDEN = "forbidden"
    BAD_TOKEN = "bad_token"
    BAD_IDENTITY = "bad_identity"
    WRONG_EMAIL = "wrong_email"
    # 404
    NOT_FOUND = "not_found"
    INVALID_INVITATION = "invalid_invitation"
    # 409: valid, but the current state says no
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    EMAIL_TAKEN = "email_taken"
    LAST_OWNER = "last_owner"
    RESOLVED = "resolved"
    HANDLED_BY_HUMAN = "handled_by_human"
    NO_SURVEY = "no_survey"
    NO_EMAIL = "no_email"  # a transcript asked for before the visitor left an address
    # 429
    RATE_LIMITED = "rate_limited"

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS.get(self, 400)


_HTTP_STATUS: dict[ErrorCode, int] = {
    **dict.fromkeys((ErrorCode.FORBIDDEN, ErrorCode.BAD_TOKEN, ErrorCode.BAD_IDENTITY, ErrorCode.WRONG_EMAIL), 403),
    **dict.fromkeys((ErrorCode.NOT_FOUND, ErrorCode.INVALID_INVITATION), 404),
    **dict.fromkeys(
        (ErrorCode.DUPLICATE, ErrorCode.CONFLICT, ErrorCode.EMAIL_TAKEN, ErrorCode.LAST_OWNER, ErrorCode.RESOLVED,
         ErrorCode.HANDLED_BY_HUMAN, ErrorCode.NO_SURVEY, ErrorCode.NO_EMAIL),
        409,
    ),
    ErrorCode.RATE_LIMITED: 429,
}


class ServiceError(Exception):
    """A business rule said no. `message` is safe to show to the user. A code outside
    ErrorCode raises ValueError where the error is raised (tests/tenants/test_error_codes.py
    also checks every literal code in the source)."""

    def __init__(self, message: str, *, code: ErrorCode | str = ErrorCode.INVALID) -> None:
        super().__init__(message)
        self.message = message
        self.code = ErrorCode(code)
