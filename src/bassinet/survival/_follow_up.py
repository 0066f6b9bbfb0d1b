"""Median follow-up by the reverse Kaplan–Meier method, and the observed follow-up times.

Reference
---------
Schemper M, Smith TL (1996). A note on quantifying follow-up in studies of failure time.
Control Clin Trials 17:343-346.

The reverse Kaplan–Meier treats censoring as the event and events as censored: its
median is the follow-up time that half the patients would have reached had none of
them had the event. Its limits are those of the median of that curve (R's
``quantile(survfit(Surv(time, 1 - event) ~ 1))``). The median and range of the observed
times are given as well, as papers state both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from bassinet.survival._kaplan_meier import CONF_TYPES, ConfType, KaplanMeier, kaplan_meier
from bassinet.survival._results import TableResult
from bassinet.survival._validate import check_choice, check_conf_level, drop_missing, required, survival_data

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class FollowUp(TableResult):
    """Median follow-up (reverse Kaplan–Meier) with limits, and the observed times' median and range."""

    median: float
    lower: float
    upper: float
    observed_median: float
    observed_min: float
    observed_max: float
    n: int
    conf_level: float
    reverse: KaplanMeier

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {
                "measure": [
                    "reverse Kaplan-Meier median",
                    "observed median",
                    "observed minimum",
                    "observed maximum",
                ],
                "time": [self.median, self.observed_median, self.observed_min, self.observed_max],
                "lower": [self.lower, np.nan, np.nan, np.nan],
                "upper": [self.upper, np.nan, np.nan, np.nan],
            }
        )


def follow_up(
    time: ArrayLike,
    event: ArrayLike,
    *,
    conf_level: float = 0.95,
    conf_type: ConfType = "log-log",
    dropna: bool = False,
) -> FollowUp:
    """Median follow-up by reverse Kaplan–Meier (Schemper & Smith 1996), with the observed range.

    Parameters
    ----------
    time, event
        Follow-up times (>= 0) and event indicators (1 event, 0 censored).
    conf_level, conf_type
        Confidence level and scale of the limits of the median (as in :func:`kaplan_meier`).
    dropna : bool
        Remove rows with a missing value instead of refusing them.
    """
    check_conf_level(conf_level)
    check_choice("conf_type", conf_type, CONF_TYPES)
    columns, _ = drop_missing(dropna, time=time, event=event)
    data = survival_data(required(columns, "time"), required(columns, "event"))
    reverse = kaplan_meier(data.time, ~data.event, conf_level=conf_level, conf_type=conf_type)
    assert isinstance(reverse, KaplanMeier)
    median = reverse.median()
    return FollowUp(
        float(median.time[0]),
        float(median.lower[0]),
        float(median.upper[0]),
        float(np.median(data.time)),
        float(data.time.min()),
        float(data.time.max()),
        len(data.time),
        conf_level,
        reverse,
    )
