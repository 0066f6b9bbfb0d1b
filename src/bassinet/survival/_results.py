"""What every result of :mod:`bassinet.survival` can do: become a table, show itself in a notebook.

pandas is imported only when a table is asked for: the statistics themselves need
NumPy and SciPy alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


class TableResult(ABC):
    """Base of the result dataclasses: ``to_frame()`` and a notebook ``_repr_html_``."""

    @abstractmethod
    def to_frame(self) -> pd.DataFrame:
        """The result as a pandas DataFrame, one row per time (or group, or cause)."""

    def _repr_html_(self) -> str:
        table = self.to_frame().to_html(max_rows=30, float_format=lambda x: f"{x:.6g}")
        return f"<div><strong>{type(self).__name__}</strong>{table}</div>"
