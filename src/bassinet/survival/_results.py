"""What every result of :mod:`bassinet.survival` can do: become a table, show itself in a notebook.

pandas is imported only when a table is asked for: the statistics themselves need
NumPy and SciPy alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

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


T = TypeVar("T", bound=TableResult)


@dataclass(frozen=True)
class Grouped(TableResult, Mapping[Any, T], Generic[T]):
    """One result per group, in the order of the sorted group labels; ``grouped[label]``."""

    curves: dict[Any, T]

    def __getitem__(self, label: Any) -> T:
        return self.curves[label]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.curves)

    def __len__(self) -> int:
        return len(self.curves)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        frames = [c.to_frame().assign(group=label) for label, c in self.curves.items()]
        table = pd.concat(frames, ignore_index=True)
        return table[["group", *[c for c in table.columns if c != "group"]]]
