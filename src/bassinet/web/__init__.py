"""The web application: server-rendered pages over the registry, for each user's scope.

- :func:`create_app`: the FastAPI application (``bassinet serve`` runs it with uvicorn).
- :class:`WebSettings`: cookies, timeouts, page size.
"""

from bassinet.web.app import create_app
from bassinet.web.settings import WebSettings

__all__ = ["WebSettings", "create_app"]
