"""The official Twilio REST client, pointed at a configurable API root (``TWILIO_API_BASE_URL``)."""

from __future__ import annotations

import contextvars
import email.utils
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

DEFAULT_API_BASE_URL = "https://api.twilio.com"

# twilio logs every request's query parameters (a recipient's phone number when listing) at INFO;
# a logger outside the hierarchy keeps them out of ours. Warnings still reach stderr.
_QUIET_LOGGER = logging.Logger("carebot.twilio.http", level=logging.WARNING)

_retry_after: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "twilio_retry_after", default=None
)


class BaseUrlClient(Client):  # type: ignore[misc]  # twilio ships no type hints
    """A ``twilio.rest.Client`` whose requests go to ``api_base_url`` instead of twilio.com.

    twilio has no base-URL setting; ``get_hostname`` is the one hook both the sync and async
    request paths go through. With the default root the URI is left as twilio built it.
    """

    def __init__(self, *args: Any, api_base_url: str = DEFAULT_API_BASE_URL, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.api_base_url = api_base_url.rstrip("/")

    def get_hostname(self, uri: str) -> str:
        if self.api_base_url == DEFAULT_API_BASE_URL:
            return str(super().get_hostname(uri))
        base = urlsplit(self.api_base_url)
        target = urlsplit(uri)
        path = base.path.rstrip("/") + target.path
        return urlunsplit((base.scheme, base.netloc, path, target.query, target.fragment))


class RetryAfterHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The async twilio HTTP client that also remembers an error response's ``Retry-After``.

    twilio's exceptions drop the response headers. The value is kept in a context variable, so
    concurrent sends (each in its own task) never see each other's; read it with
    :func:`last_retry_after` right after catching the exception, in the same task.

    Credentials go in an ``Authorization`` header: aiohttp 3.14 deprecates the ``auth=``
    argument twilio would pass.
    """

    def __init__(self) -> None:
        super().__init__(logger=_QUIET_LOGGER)

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109  (twilio's signature)
        allow_redirects: bool = False,
    ) -> Response:
        if auth is not None:
            headers = {**(headers or {}), "Authorization": aiohttp.encode_basic_auth(*auth)}
        _retry_after.set(None)
        response = await super().request(
            method, url, params, data, headers, None, timeout, allow_redirects
        )
        if response.status_code >= 400:
            _retry_after.set(parse_retry_after(response.headers.get("Retry-After")))
        return response


def last_retry_after() -> float | None:
    """Seconds from the Retry-After header of this task's last failed Twilio response."""
    return _retry_after.get()


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
