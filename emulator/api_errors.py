"""The one error type of the emulated API, kept apart so every module can raise it without cycles."""

from __future__ import annotations


class ApiError(Exception):
    """An answer other than 2xx, in OpenAI's error shape ``{"error": {message, type, param, code}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type, "param": param, "code": code}}
        self.headers = headers or {}
