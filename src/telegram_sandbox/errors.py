"""The errors the sandbox answers with, and the one its driver raises."""


class ApiError(Exception):
    """A Bot API error answer: `{"ok": false, "error_code": ..., "description": ...}`.

    Attributes:
        code: The HTTP status and the envelope's `error_code`.
        description: Telegram's description, e.g. "Bad Request: chat not found".
        retry_after: For 429 answers, `parameters.retry_after` in seconds.
    """

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.retry_after = retry_after


def bad_request(detail: str) -> ApiError:
    """A 400 answer: "Bad Request: <detail>"."""
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    """A 403 answer: "Forbidden: <detail>"."""
    return ApiError(403, f"Forbidden: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    """A 429 answer with `parameters.retry_after`."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


class DriverError(Exception):
    """The scenario asked a person to do something Telegram's apps would not let them do."""
