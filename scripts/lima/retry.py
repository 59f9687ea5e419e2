"""Reading an HTTP `Retry-After` header (RFC 9110, section 10.2.3), for every client that retries.

The value is either delay-seconds (digits) or an HTTP-date. HTTP-dates are always UTC, but the
asctime form and a `-0000` zone parse without one; read naively they would be taken as local
time and be off by the machine's offset, so a date without a zone is read as UTC.
"""
from __future__ import annotations

import email.utils
import re
import time
from datetime import timezone


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait (never negative) from a `Retry-After` value, or None when it is absent or
    unreadable (the caller then uses its own backoff). `now` (epoch seconds) is for tests."""
    value = (value or "").strip()
    if not value:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
