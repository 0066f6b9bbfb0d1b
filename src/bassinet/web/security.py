"""What every response and every form gets: security headers, CSRF checks, safe redirects."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

#: The Content Security Policy: nothing but this site's own files, no inline script, no
#: framing. Inline ``style`` is allowed only because matplotlib's inline SVG figures style
#: their shapes with ``style`` attributes; no script may run from anywhere but this site
#: (and the pages have none).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}


def csrf_matches(expected: str | None, given: object) -> bool:
    """Whether a form's CSRF token equals the session's (in constant time)."""
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site (``/patients?page=2``), else ``default``.

    Refused: absolute URLs (``https://evil.example``), scheme-relative ones
    (``//evil.example``), backslash tricks (``/\\evil.example``, which browsers read as
    ``//``), anything with a scheme or host, control characters, and relative paths.
    """
    if not target or len(target) > 2000:
        return default
    if any(ord(c) < 0x20 or c == "\\" for c in target):
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
