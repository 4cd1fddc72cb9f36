"""``PdfcoCredentials``: the Prefect block that holds a PDF.co API key and builds clients from it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from prefect.blocks.abstract import CredentialsBlock
from prefect.exceptions import ObjectNotFound
from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator

from prefect_pdfco._client import DEFAULT_BASE_URL, PdfcoClient
from prefect_pdfco._compat import async_dispatch, run_coro_as_sync
from prefect_pdfco._exceptions import BlockNotFoundError, InvalidParametersError
from prefect_pdfco._linkguard import LinkPolicy
from prefect_pdfco._util import LoopCache, is_loopback
from prefect_pdfco.models import RetryPolicy

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient
    from typing_extensions import Self

__all__ = ["PdfcoCredentials"]


class PdfcoCredentials(CredentialsBlock):
    """Credentials for the PDF.co API: the key, the API root, and how hard to push it.

    Tasks take this block as their first argument and share one ``PdfcoClient`` per process, settings and event
    loop (one connection pool). ``get_client()`` builds a client of your own.

    Attributes:
        api_key: The PDF.co API key, sent only in the ``x-api-key`` header to ``base_url``'s host.
        base_url: The API root: ``https://``, or ``http://`` only on a loopback address.
        timeout_seconds: Read/write timeout of one HTTP call.
        requests_per_second: A hard cap on this account's requests in each process (at least 0.1).
        low_credits_threshold: Emit ``pdfco.credits.low`` when the balance falls under this.
        rate_limit_budget_seconds: How long one call keeps retrying after 429 answers before it fails.
        allowed_result_hosts: Where result links may lead (names, ``*.suffix`` patterns, IP networks); empty
            for anywhere but link-local and cloud metadata addresses.
        callback_url: Where PDF.co calls back when a job ends (``prefect_pdfco.callbacks``); None to poll.

    Example:
        ```python
        from prefect import flow

        from prefect_pdfco import PdfcoCredentials


        @flow
        def show_balance() -> int:
            credentials = PdfcoCredentials.load("BLOCK_NAME")
            return credentials.check_connection()
        ```
    """

    _block_type_name = "PDF.co Credentials"
    _block_type_slug = "pdfco-credentials"
    _logo_url = "https://pdf.co/favicon.ico"  # type: ignore[assignment]
    _description = "Stores a PDF.co API key and builds clients for the PDF.co REST API."
    _documentation_url = "https://prefect-pdfco.github.io/prefect-pdfco/reference/credentials/"  # type: ignore[assignment]

    api_key: SecretStr = Field(default=..., title="API key", description="The PDF.co API key (app.pdf.co > API).")
    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        title="Base URL",
        description="The root of the PDF.co API: https://, or http:// on a loopback address (a local test server).",
    )
    timeout_seconds: float = Field(
        default=30.0, gt=0, le=3600, allow_inf_nan=False, description="Seconds to wait for one HTTP response."
    )
    requests_per_second: float | None = Field(
        default=None,
        ge=0.1,
        le=1000,
        allow_inf_nan=False,
        description="A hard cap on this account's requests per second in each process; empty for none.",
    )
    low_credits_threshold: int | None = Field(
        default=None, ge=0, description="Emit a pdfco.credits.low event when the balance falls under this."
    )
    rate_limit_budget_seconds: float = Field(
        default=120.0,
        ge=0,
        le=3600,
        allow_inf_nan=False,
        description="Seconds one call keeps retrying after PDF.co answers 429 (too many requests); 0 fails at once.",
    )
    allowed_result_hosts: list[str] = Field(
        default_factory=list,
        description="Where result downloads may connect (names, *.suffix patterns, IP networks); empty for anywhere "
        "but link-local and cloud metadata addresses.",
    )
    callback_url: str | None = Field(
        default=None,
        title="Callback URL",
        description="The public base URL of a callback receiver or a Prefect Cloud webhook; empty to poll.",
    )
    _loaded_as: str | None = PrivateAttr(default=None)

    def __init__(self, **data: Any) -> None:
        # A bad field is refused with the package's own error (also a ValueError), never echoing the value.
        try:
            super().__init__(**data)
        except ValidationError as error:
            problems = [
                f"{'.'.join(map(str, e['loc'])) or 'block'}: {e['msg']}" for e in error.errors(include_input=False)
            ]
            raise InvalidParametersError("PdfcoCredentials", problems) from None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value.lower().startswith("https://"):
            return value
        if not value.lower().startswith("http://"):
            raise ValueError("base_url must start with https:// (or http:// for a local test server)")
        try:
            host = httpx.URL(value).host
        except httpx.InvalidURL as error:
            raise ValueError(f"base_url is not a URL: {error}") from None
        if not is_loopback(host):
            raise ValueError(
                f"base_url {value!r} is plain http to {host or 'no host'}: the API key would cross the network in "
                "clear text. Use https://, or http:// only on a loopback address (127.0.0.1, ::1, localhost)."
            )
        return value

    @field_validator("callback_url")
    @classmethod
    def _callback_url(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else cls._http_url(value)

    @field_validator("allowed_result_hosts")
    @classmethod
    def _link_policy_entries(cls, value: list[str]) -> list[str]:
        LinkPolicy.from_entries(value)  # a ValueError for an entry that is neither a host nor a network
        return [entry.strip() for entry in value if entry.strip()]

    @property
    def described(self) -> str:
        """How logs name these credentials: the block's name (when loaded) and the API host, never the key."""
        host = httpx.URL(self.base_url).host
        return f"block {self._loaded_as!r} ({host})" if self._loaded_as else f"credentials for {host}"

    def get_client(self) -> PdfcoClient:
        """A new ``PdfcoClient`` for this account: ``async with credentials.get_client() as client: ...``."""
        return PdfcoClient(
            self.api_key,
            base_url=self.base_url,
            timeout_seconds=self.timeout_seconds,
            requests_per_second=self.requests_per_second,
            retry_policy=RetryPolicy(rate_limit_budget_seconds=self.rate_limit_budget_seconds),
            link_policy=LinkPolicy.from_entries(self.allowed_result_hosts),
        )

    async def acheck_connection(self) -> int:
        """Checks the key against PDF.co (free of charge) and returns the remaining credits."""
        async with self.get_client() as client:
            return await client.credit_balance()

    if TYPE_CHECKING:
        # Prefect types its dispatching methods as "the value or a coroutine of it", which no sync flow can pass
        # on: typed here as what sync code gets; async code awaits aload and acheck_connection.

        @classmethod
        def load(cls, name: str, validate: bool = True, client: PrefectClient | None = None) -> Self: ...

        @classmethod
        async def aload(cls, name: str, validate: bool = True, client: PrefectClient | None = None) -> Self: ...

        def check_connection(self) -> int: ...

    else:

        @classmethod
        async def aload(cls, name, validate=True, client=None):
            """Prefect's ``Block.aload``; a name never saved raises ``BlockNotFoundError`` naming the fix."""
            try:
                block = await super().aload(name, validate=validate, client=client)
            except ValueError as error:
                if not isinstance(error.__cause__, ObjectNotFound):
                    raise
                raise BlockNotFoundError(name, cls.get_block_type_slug()) from None
            block._loaded_as = name
            return block

        @classmethod
        @async_dispatch(aload)
        def load(cls, name, validate=True, client=None):
            """Prefect's ``Block.load``; a name never saved raises ``BlockNotFoundError`` naming the fix."""
            try:
                block = super().load(name, validate=validate, client=client, _sync=True)
            except ValueError as error:
                if not isinstance(error.__cause__, ObjectNotFound):
                    raise
                raise BlockNotFoundError(name, cls.get_block_type_slug()) from None
            block._loaded_as = name
            return block

        @async_dispatch(acheck_connection)
        def check_connection(self) -> int:
            """Checks the key against PDF.co and returns the remaining credits (``acheck_connection`` in async
            code).

            Raises:
                AuthenticationError: The key is wrong.
                PdfcoConnectionError: PDF.co could not be reached.
            """
            return run_coro_as_sync(self.acheck_connection())


def _fingerprint(credentials: PdfcoCredentials) -> str:
    settings = json.dumps(credentials.model_dump(mode="json", exclude={"api_key"}), sort_keys=True, default=str)
    return hashlib.sha256(credentials.api_key.get_secret_value().encode() + b"\0" + settings.encode()).hexdigest()


@dataclass(frozen=True)
class _Key:
    """Equal for blocks that would build equal clients; the block rides along to build one."""

    fingerprint: str
    credentials: PdfcoCredentials = field(compare=False, hash=False)


_clients: LoopCache[_Key, PdfcoClient] = LoopCache(
    lambda key: key.credentials.get_client(), lambda c: c.aclose(), lambda c: c.is_closed
)


async def shared_client(credentials: PdfcoCredentials) -> PdfcoClient:
    """The process's client for ``credentials`` on the running loop (one SSL context and pool); never close it."""
    return await _clients.get(_Key(_fingerprint(credentials), credentials))


def require_credentials(value: object, caller: str) -> PdfcoCredentials:
    """``value`` when it is a ``PdfcoCredentials`` block, else ``InvalidParametersError`` saying how to get one."""
    if isinstance(value, PdfcoCredentials):
        return value
    got = type(value).__name__
    raise InvalidParametersError(
        caller, [f'credentials: expected a PdfcoCredentials block, got {got} (PdfcoCredentials.load("name"))']
    )


# --- per-job callback tokens: what a submit puts in its callback URL, and what a receiver verifies ---------------

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$")
_CONTEXT = b"prefect-pdfco callback token v1"
#: Where the token goes in ``PdfcoCredentials.callback_url``; a URL without it gets ``/<token>`` appended.
TOKEN_PLACEHOLDER = "{token}"  # noqa: S105 (a placeholder, not a secret)


def callback_key(api_key: SecretStr | str) -> bytes:
    """The HMAC key of callback tokens, derived from the API key (so the block is the only secret to keep)."""
    secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
    return hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()


def _mac(key: bytes, nonce: str) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, nonce.encode(), hashlib.sha256).digest()[:16]).decode().rstrip("=")


def new_token(key: bytes) -> str:
    """A fresh ``<nonce>.<mac>`` token: 16 random bytes and their truncated HMAC-SHA256, both base64url."""
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_mac(key, nonce)}"


def verify_token(key: bytes, token: object) -> bool:
    """Whether ``token`` was made with ``key`` (a constant-time comparison; anything malformed is False)."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        return False
    nonce, mac = token.split(".")
    return hmac.compare_digest(mac, _mac(key, nonce))


def callback_url_for(base: str, token: str) -> str:
    """One job's callback URL: ``base`` with the token in place of ``{token}``, else ``<base>/<token>``."""
    return base.replace(TOKEN_PLACEHOLDER, token) if TOKEN_PLACEHOLDER in base else f"{base.rstrip('/')}/{token}"


def with_callback(credentials: PdfcoCredentials, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of a submit's ``params`` with a fresh per-job ``callback`` when ``credentials.callback_url`` is set.

    A ``callback`` the caller passed (in any letter case: PDF.co ignores case in parameter names) is kept.
    """
    payload = dict(params or {})
    base = credentials.callback_url
    if base and not any(str(name).lower() == "callback" for name in payload):
        payload["callback"] = callback_url_for(base, new_token(callback_key(credentials.api_key)))
    return payload
