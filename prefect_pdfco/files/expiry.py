"""When a result link stops working, and how to say so: in UTC, from the link's own signature.

A presigned link carries its own lifetime (``X-Amz-Date`` plus ``X-Amz-Expires``, or SigV2's ``Expires``);
PDF.co also reports ``outputLinkValidTill``. The earlier of the two is the link's expiry. When the file host
says a link has expired while this machine's clock says it has not, a clock is off: the message says so
rather than "expired 0 s ago".
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

from prefect_pdfco._redact import safe_url
from prefect_pdfco.exceptions import ResultExpiredError

__all__ = ["EXPIRED_HINT", "describe_expiry", "ensure_not_expired", "link_expiry", "signed_expiry"]


def signed_expiry(url: str) -> datetime | None:
    """When a presigned link stops working, read from its own query string (None when it does not say).

    SigV4 links carry ``X-Amz-Date`` (``20250811T160913Z``) and ``X-Amz-Expires`` (seconds); SigV2 links an
    ``Expires`` epoch second.
    """
    try:
        query = {key.lower(): value for key, value in parse_qsl(urlsplit(url).query)}
    except ValueError:
        return None
    try:
        if "x-amz-date" in query and "x-amz-expires" in query:
            signed = datetime.strptime(query["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
            return signed + timedelta(seconds=int(query["x-amz-expires"]))
        if "expires" in query:
            return datetime.fromtimestamp(int(query["expires"]), timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _utc(moment: datetime) -> datetime:
    # PDF.co's outputLinkValidTill may come without an offset; PDF.co means UTC (as JobResult assumes).
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _shown(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{int(seconds)} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min"
    if seconds < 172800:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"
    return f"{int(seconds // 86400)} days"


def describe_expiry(valid_till: datetime | None, now: datetime) -> str:
    """When the link expired, in UTC, and how long ago only when this machine's clock agrees that it has."""
    if valid_till is None:
        return "the result link has expired"
    ago = (_utc(now) - _utc(valid_till)).total_seconds()
    if ago >= 1:
        return f"the result link expired at {_shown(valid_till)} ({_duration(ago)} ago)"
    if ago >= 0:
        return f"the result link expired at {_shown(valid_till)} (just now)"
    # The host says expired while our clock says not yet: a clock is off, and "0 s ago" would mislead.
    return (
        f"the result link expired at {_shown(valid_till)}, by the file host's clock (this machine's clock "
        f"reads {_shown(now)}, {_duration(-ago)} earlier: check that it is synchronised)"
    )


EXPIRED_HINT = (
    "PDF.co deletes results when their link expires: run the job again and download within the link's "
    "lifetime (PDF.co's `expiration` parameter sets it in minutes)."
)


def link_expiry(url: str, valid_till: datetime | None) -> datetime | None:
    """When a result link stops working (UTC): the earlier of ``valid_till`` and the link's signed expiry."""
    known = [_utc(moment) for moment in (valid_till, signed_expiry(url)) if moment is not None]
    return min(known) if known else None


def ensure_not_expired(url: str, valid_till: datetime | None, *, now: datetime | None = None) -> None:
    """Raises ``ResultExpiredError`` when ``valid_till`` or the link's signed expiry has passed.

    Called before any request: an expired link costs a round trip and says nothing new.
    """
    now = _utc(now or datetime.now(timezone.utc))
    expiry = link_expiry(url, valid_till)
    if expiry is not None and now >= expiry:
        raise ResultExpiredError(
            f"{describe_expiry(expiry, now)}; no request was made. {EXPIRED_HINT}",
            url=safe_url(url),
            valid_till=expiry,
        )
