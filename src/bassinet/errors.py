"""The one exception tree of Bassinet.

Every error Bassinet raises on purpose is a :class:`BassinetError`; each concrete
kind also subclasses the builtin a caller would naturally catch (``ValueError`` for
bad data, ``RuntimeError`` for a computation that failed), so code written against
the builtins keeps working.
"""

from __future__ import annotations


class BassinetError(Exception):
    """Base class of every error raised by Bassinet on purpose."""


class DataError(BassinetError, ValueError):
    """Input data break a stated rule; the message names the thing, the value and the rule."""


class ConfigurationError(BassinetError, ValueError):
    """A setting, option, URL or mapping file is wrong or missing."""


class RegistryError(BassinetError, RuntimeError):
    """The registry cannot do what was asked (not initialised, unknown patient, ...)."""


class ConvergenceError(BassinetError, RuntimeError):
    """An iterative fit did not converge."""


class StatisticalWarning(UserWarning):
    """A result was computed but should be read with care (e.g. monotone likelihood)."""


class AccessDenied(BassinetError, PermissionError):
    """The acting user's grants do not allow the action (never raised for a patient out of scope:
    such a patient is simply not found)."""


class AuthenticationFailed(BassinetError, PermissionError):
    """A sign-in or a token was refused; the message never says which part was wrong."""
