"""The web application's settings (one frozen value, read once at start-up)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


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
    """

    secure_cookies: bool | None = None
    idle_timeout: dt.timedelta = dt.timedelta(minutes=30)
    sign_in_timeout: dt.timedelta = dt.timedelta(minutes=5)
    cookie_name: str = "bassinet_session"
    page_size: int = 50
    oidc: OIDCSettings | None = None
