"""The web application's settings (one frozen value, read once at start-up)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bassinet.errors import ConfigurationError


@dataclass(frozen=True)
class OIDCSettings:
    """Single sign-on with an OpenID Connect provider (the hospital's), authorization-code flow.

    Attributes
    ----------
    issuer
        The provider's issuer URL; its metadata is read from
        ``{issuer}/.well-known/openid-configuration``.
    client_id, client_secret
        Bassinet's registration at the provider (redirect URI ``https://<site>/login/oidc/callback``).
    username_claim
        The ID token's claim that names the local account (``preferred_username``); the
        account must exist: single sign-on creates no account and gives no role.
    label
        The sign-in page's link text.
    """

    issuer: str
    client_id: str
    client_secret: str
    username_claim: str = "preferred_username"
    label: str = "Sign in with the hospital account"


@dataclass(frozen=True)
class WebSettings:
    """How the web application behaves.

    Attributes
    ----------
    secure_cookies
        ``True``: the session cookie is always ``Secure``; ``False``: never (plain HTTP on
        loopback only); ``None`` (the default): ``Secure`` whenever the request came over
        HTTPS, as a TLS proxy reports it (``X-Forwarded-Proto``, with uvicorn's
        ``--proxy-headers``).
    idle_timeout
        A session unused for this long is signed out.
    sign_in_timeout
        Time allowed between the password and the TOTP code.
    cookie_name
        The session cookie's name.
    page_size
        Patients per page in the patient list.
    oidc
        Single sign-on, if offered.
    upload_dir
        Where the upload-import page keeps uploaded files between the dry run and the
        import, their quarantine files, and the centres' saved mapping files (default:
        ``bassinet-uploads`` in the system's temporary folder).
    """

    secure_cookies: bool | None = None
    idle_timeout: dt.timedelta = dt.timedelta(minutes=30)
    sign_in_timeout: dt.timedelta = dt.timedelta(minutes=5)
    cookie_name: str = "bassinet_session"
    page_size: int = 50
    oidc: OIDCSettings | None = None
    upload_dir: Path | None = None


def settings_from_environment(environ: Mapping[str, str]) -> WebSettings:
    """Settings from environment variables (for ``bassinet serve``; secrets stay off the command line).

    ``BASSINET_SECURE_COOKIES`` (``1``: always Secure), ``BASSINET_IDLE_MINUTES``, and for single
    sign-on ``BASSINET_OIDC_ISSUER``, ``BASSINET_OIDC_CLIENT_ID``, ``BASSINET_OIDC_CLIENT_SECRET``
    (all three, or none), with ``BASSINET_OIDC_USERNAME_CLAIM`` and ``BASSINET_OIDC_LABEL`` optional.
    """
    oidc_names = ("BASSINET_OIDC_ISSUER", "BASSINET_OIDC_CLIENT_ID", "BASSINET_OIDC_CLIENT_SECRET")
    given = [name for name in oidc_names if environ.get(name)]
    oidc = None
    if given and len(given) < len(oidc_names):
        missing = ", ".join(n for n in oidc_names if n not in given)
        raise ConfigurationError(f"single sign-on needs {', '.join(oidc_names)}: {missing} not set")
    if given:
        oidc = OIDCSettings(
            environ["BASSINET_OIDC_ISSUER"],
            environ["BASSINET_OIDC_CLIENT_ID"],
            environ["BASSINET_OIDC_CLIENT_SECRET"],
            username_claim=environ.get("BASSINET_OIDC_USERNAME_CLAIM") or "preferred_username",
            label=environ.get("BASSINET_OIDC_LABEL") or "Sign in with the hospital account",
        )
    minutes = environ.get("BASSINET_IDLE_MINUTES", "30")
    if not minutes.isdigit() or not 1 <= int(minutes) <= 24 * 60:
        raise ConfigurationError(f"BASSINET_IDLE_MINUTES is {minutes!r}: give whole minutes from 1 to 1440")
    secure = environ.get("BASSINET_SECURE_COOKIES")
    return WebSettings(
        secure_cookies=True if secure == "1" else None,
        idle_timeout=dt.timedelta(minutes=int(minutes)),
        oidc=oidc,
    )
