"""``PdfcoCredentials``: the Prefect block that holds a PDF.co API key and builds clients from it."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import httpx
from prefect.blocks.abstract import CredentialsBlock
from prefect.exceptions import ObjectNotFound
from pydantic import Field, SecretStr, field_validator

from prefect_pdfco._compat import async_dispatch, run_coro_as_sync
from prefect_pdfco._netguard import LinkPolicy
from prefect_pdfco._retry import RetryPolicy
from prefect_pdfco.client import DEFAULT_BASE_URL, PdfcoClient
from prefect_pdfco.exceptions import BlockNotFoundError

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.objects import BlockType
    from typing_extensions import Self

__all__ = ["PdfcoCredentials"]


def _on_prefect_cloud() -> bool:
    """Whether the block type is being registered on Prefect Cloud (as Prefect's own client tells)."""
    from prefect.settings import PREFECT_API_URL, PREFECT_CLOUD_API_URL

    api = PREFECT_API_URL.value()
    return bool(api) and str(api).startswith(PREFECT_CLOUD_API_URL.value())


class PdfcoCredentials(CredentialsBlock):
    """Credentials for the PDF.co API: the API key, the API root, and how hard to push it.

    Tasks take this block as their first argument and share one ``PdfcoClient`` per process, settings and event
    loop (one connection pool, closed with its loop or at exit).

    Attributes:
        api_key: The PDF.co API key, sent only in the ``x-api-key`` header to ``base_url``'s host.
        base_url: The API root: ``https://``, or ``http://`` only on a loopback address (the key never
            crosses a network in clear text).
        timeout_seconds: Read/write timeout of one HTTP call.
        requests_per_second: Client-side rate limit shared by every task of this process.
        rate_limit_name: A Prefect global concurrency limit (with slot decay) used as a cross-process rate limit.
        low_credits_threshold: Emit ``pdfco.credits.low`` when the balance falls under this.
        rate_limit_budget_seconds: How long one call keeps retrying after 429 answers before it fails.
        allowed_result_hosts: Where result links may lead (host names, ``*.suffix`` patterns, IP networks);
            empty for anywhere but link-local and cloud metadata addresses.
        callback_url: Where PDF.co calls back when a job ends (``prefect_pdfco.callbacks``); None to poll.

    Example:
        Load saved credentials and check the balance in a flow:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials

        @flow
        def show_balance() -> int:
            credentials = PdfcoCredentials.load("BLOCK_NAME")
            return credentials.check_connection()

        show_balance()
        ```
    """

    _block_type_name = "PDF.co Credentials"
    _block_type_slug = "pdfco-credentials"
    # PDF.co's icon lives on the internet, so a Prefect server's UI without internet showed a broken image. Prefect
    # takes only http(s) logos, checked when the block type is registered and on every read of it (a data: URI
    # breaks `load`), and serves no file of ours: the logo is registered on Prefect Cloud, whose UI is online
    # anyway; any other server's UI shows its own block icon (`_to_block_type`).
    _logo_url = "https://pdf.co/favicon.ico"  # type: ignore[assignment]
    _description = "Stores a PDF.co API key and builds clients for the PDF.co REST API."
    _documentation_url = "https://github.com/prefect-pdfco/prefect-pdfco#readme"  # type: ignore[assignment]
    _code_example = """
```python
from prefect_pdfco import PdfcoCredentials

credentials = PdfcoCredentials.load("BLOCK_NAME")
print(credentials.check_connection())  # remaining credits
```
"""

    api_key: SecretStr = Field(
        default=...,
        title="API key",
        description="The PDF.co API key, from https://app.pdf.co/ under API.",
    )
    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        title="Base URL",
        description=(
            "The root of the PDF.co API; change it only to point at the emulator or a proxy. Must be https://, "
            "or http:// on a loopback address (127.0.0.1, ::1, localhost), so the key never crosses a network "
            "in clear text."
        ),
    )
    timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds to wait for one HTTP response from PDF.co before giving up on it.",
    )
    requests_per_second: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description=(
            "Client-side rate limit for this account in each process: 2 on free plans, 10 on paid plans. "
            "Leave empty for no limit."
        ),
    )
    rate_limit_name: str | None = Field(
        default=None,
        description=(
            "Name of a Prefect global concurrency limit with slot decay that every request takes a slot from, "
            "to rate-limit across processes and machines (create it with `prefect gcl create pdfco --limit 10 "
            "--slot-decay-per-second 10`)."
        ),
    )
    low_credits_threshold: int | None = Field(
        default=None,
        ge=0,
        description="Emit a pdfco.credits.low event when the remaining credits fall under this number.",
    )
    rate_limit_budget_seconds: float = Field(
        default=120.0,
        ge=0,
        allow_inf_nan=False,
        description=(
            "Seconds one call keeps retrying after PDF.co answers 429 (too many requests) before it fails. PDF.co "
            "says no Retry-After, so the client backs off with jitter and slows this process's requests down "
            "until they fit the plan's rate. 0 fails on the first 429."
        ),
    )

    allowed_result_hosts: list[str] = Field(
        default_factory=list,
        description=(
            "Where result downloads may connect. Empty: any host except link-local and cloud metadata addresses "
            "(169.254.0.0/16, fd00:ec2::254, metadata.google.internal...), checked after DNS resolution and on "
            "every redirect. Otherwise only the hosts listed: names (pdf-temp-files.s3.us-west-2.amazonaws.com), "
            "patterns (*.amazonaws.com), or IP addresses and networks (10.0.0.0/8); listing a blocked address or "
            "name explicitly allows it. Pass the block to the download tasks (credentials=...) to apply it."
        ),
    )

    callback_url: str | None = Field(
        default=None,
        title="Callback URL",
        description=(
            "The public base URL of a callback receiver (python -m prefect_pdfco.callbacks) or of a Prefect "
            "Cloud webhook. When set, every submit asks PDF.co to POST to it when the job ends, at "
            "<callback_url>/<token> (or with the token in place of {token}), where the token is a fresh "
            "per-job value the receiver verifies. https://, or http:// on a loopback address."
        ),
    )

    @field_validator("callback_url")
    @classmethod
    def _callback_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return cls._http_url(value)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        lowered = value.lower()
        if lowered.startswith("https://"):
            return value
        if not lowered.startswith("http://"):
            raise ValueError("base_url must start with https:// (or http:// for a local emulator)")
        try:
            host = httpx.URL(value).host
        except httpx.InvalidURL as error:
            raise ValueError(f"base_url is not a URL: {error}") from error
        if not _is_loopback(host):
            raise ValueError(
                f"base_url {value!r} is plain http to {host or 'no host'}: the API key would cross the network in "
                "clear text. Use https://, or http:// only on a loopback address (127.0.0.1, ::1, localhost)."
            )
        return value

    @field_validator("allowed_result_hosts")
    @classmethod
    def _link_policy_entries(cls, value: list[str]) -> list[str]:
        LinkPolicy.from_entries(value)  # raises ValueError on an entry that is neither a host nor a network
        return [entry.strip() for entry in value if entry.strip()]

    @classmethod
    def _to_block_type(cls) -> BlockType:
        block_type = super()._to_block_type()
        if not _on_prefect_cloud():
            return block_type.model_copy(update={"logo_url": None})
        return block_type

    def get_client(self) -> PdfcoClient:
        """A new ``PdfcoClient`` for this account; use it as ``async with credentials.get_client() as c``.

        Each call builds a client of its own (a connection pool that its ``async with`` closes). The package's
        tasks borrow one shared client per process, settings and event loop instead.
        """
        return PdfcoClient(
            self.api_key,
            base_url=self.base_url,
            timeout_seconds=self.timeout_seconds,
            requests_per_second=self.requests_per_second,
            global_rate_limit=self.rate_limit_name,
            low_credits_threshold=self.low_credits_threshold,
            retry_policy=RetryPolicy(rate_limit_budget_seconds=self.rate_limit_budget_seconds),
        )

    async def acheck_connection(self) -> int:
        """Async ``check_connection``: calls ``GET /v1/account/credit/balance`` and returns the credits."""
        async with self.get_client() as client:
            return await client.credit_balance()

    if TYPE_CHECKING:
        # Prefect types its context-dispatching methods as "the value or a coroutine of it", which no sync flow
        # can pass to a task: typed here as what sync code gets, like our tasks. Async code awaits the twins
        # (``aload``, whose client-injecting decorator mypy cannot see through, and ``acheck_connection``).

        @classmethod
        def load(cls, name: str, validate: bool = True, client: PrefectClient | None = None) -> Self: ...

        @classmethod
        async def aload(cls, name: str, validate: bool = True, client: PrefectClient | None = None) -> Self: ...

        def check_connection(self) -> int: ...

    else:

        @classmethod
        async def aload(cls, name, validate=True, client=None):
            """Prefect's ``Block.aload``, but a name that was never saved raises ``BlockNotFoundError``."""
            try:
                return await super().aload(name, validate=validate, client=client)
            except ValueError as error:
                if not isinstance(error.__cause__, ObjectNotFound):
                    raise  # a saved document that no longer validates: Prefect's own words are the right ones
                raise BlockNotFoundError(name, cls.get_block_type_slug()) from None  # its words say it all

        @classmethod
        @async_dispatch(aload)
        def load(cls, name, validate=True, client=None):
            """Prefect's ``Block.load``, but a name that was never saved raises ``BlockNotFoundError``.

            Prefect's own answer is a bare ``ValueError``; ours is one too, and says how to save the block.
            """
            try:
                return super().load(name, validate=validate, client=client, _sync=True)
            except ValueError as error:
                if not isinstance(error.__cause__, ObjectNotFound):
                    raise  # a saved document that no longer validates: Prefect's own words are the right ones
                raise BlockNotFoundError(name, cls.get_block_type_slug()) from None  # its words say it all

        @async_dispatch(acheck_connection)
        def check_connection(self) -> int:
            """Checks the key against PDF.co and returns the remaining credits.

            Works from sync and async code: in an async context it returns a coroutine to await (typed
            spelling: ``await credentials.acheck_connection()``).

            Raises:
                AuthenticationError: The key is wrong.
                PdfcoConnectionError: PDF.co could not be reached.
            """
            return run_coro_as_sync(self.acheck_connection())


def _is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 (and its IPv4-mapped form) or the name localhost."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback
