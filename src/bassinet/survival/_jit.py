"""The Numba set-up the compiled survival loops share (``_cox_kernels``, ``_incidence_kernels``).

Each kernel module makes one :class:`Jit` with the compiler options its loops need and
decorates its loops with it. Every loop is compiled by Numba (``numba.njit``) on its first
call, releases the GIL (``nogil=True``) and is cached on disk (``cache=True``), so later
processes load it in a fraction of a second. Without Numba, or with ``BASSINET_NO_JIT=1``
(the plain NumPy path everywhere), a loop is left as the Python function it is and
:attr:`Jit.available` is false, so the callers use their NumPy code.

References
----------
Lam SK, Pitrou A, Seibert S (2015). Numba: a LLVM-based Python JIT compiler. Proceedings
    of the Second Workshop on the LLVM Compiler Infrastructure in HPC, 1-6.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])

#: Set BASSINET_NO_JIT=1 to use the NumPy engine everywhere (the plain path).
DISABLED = os.environ.get("BASSINET_NO_JIT", "") not in ("", "0")


class Jit:
    """A decorator compiling loops with ``numba.njit(cache=True, nogil=True, **options)``.

    Parameters
    ----------
    **options
        Further options of ``numba.njit`` (for instance ``error_model="numpy"``: a division
        by zero gives inf or NaN as in NumPy, not an exception).
    """

    def __init__(self, **options: Any) -> None:
        self._njit: Callable[[Any], Any] | None = None
        if DISABLED:
            return
        try:
            import numba
        except ImportError:  # the NumPy code is used
            return
        self._njit = numba.njit(cache=True, nogil=True, **options)

    @property
    def available(self) -> bool:
        """Whether the loops are compiled (Numba installed and BASSINET_NO_JIT unset)."""
        return self._njit is not None

    def __call__(self, func: F) -> F:
        """``func`` compiled by Numba (on its first call), or as it is without Numba."""
        return func if self._njit is None else cast(F, self._njit(func))
