"""The data sets the survival tests share: R's own, and generated edge cases."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tests.survival.r_oracle import r_dataset


@dataclass(frozen=True)
class Case:
    """Survival data with a group column, and how R should read it."""

    name: str
    frame: pd.DataFrame  # columns: time, event, group, and optionally entry, weight, cause, strata

    @property
    def has_entry(self) -> bool:
        return "entry" in self.frame

    @property
    def has_weight(self) -> bool:
        return "weight" in self.frame


def r_case(name: str, expression: str, time: str, event: str, group: str, **extra: str) -> Case:
    raw = r_dataset(expression)
    frame = pd.DataFrame(
        {
            "time": raw[time].astype(float),
            "event": pd.eval(event, local_dict={c: raw[c] for c in raw.columns}).astype(int),
            "group": raw[group],
        }
    )
    for column, source in extra.items():
        frame[column] = raw[source]
    return Case(name, frame.dropna().reset_index(drop=True))


def generated(
    name: str,
    n: int,
    seed: int,
    *,
    ties: int | None = None,
    entry: bool = False,
    weights: bool = False,
    censored_only: bool = False,
    groups: int = 3,
    no_events_in: int | None = None,
    causes: int = 0,
) -> Case:
    rng = np.random.default_rng(seed)
    time = rng.exponential(10, n)
    if ties is not None:
        time = np.ceil(time * ties / 10)  # whole numbers, heavily tied
    group = rng.integers(0, groups, n)
    event = (rng.random(n) < 0.65).astype(int)
    if censored_only:
        event[:] = 0
    if no_events_in is not None:
        event[group == no_events_in] = 0
    frame = pd.DataFrame({"time": time, "event": event, "group": group})
    if entry:
        frame["entry"] = np.floor(rng.random(n) * frame["time"] * 0.8 * 4) / 4
        frame.loc[frame["entry"] >= frame["time"], "entry"] = 0.0
    if weights:
        frame["weight"] = rng.integers(1, 4, n).astype(float)
    if causes:
        frame["cause"] = np.where(event == 1, rng.integers(1, causes + 1, n), 0)
    return Case(name, frame)


def r_cases() -> list[Case]:
    return [
        r_case("aml", "aml", "time", "status", "x"),
        r_case("lung", "lung", "time", "status == 2", "sex"),
        r_case("veteran", "veteran", "time", "status", "trt"),
        r_case("pbc", "pbc", "time", "status == 2", "trt"),
    ]


def generated_cases() -> list[Case]:
    return [
        generated("heavy ties", 300, 1, ties=8),
        generated("continuous", 200, 2),
        generated("late entry", 250, 3, ties=20, entry=True),
        generated("weights", 150, 4, ties=10, weights=True),
        generated("a group with no events", 120, 5, ties=10, no_events_in=1),
        generated("everything censored", 40, 6, censored_only=True),
        Case("one subject", pd.DataFrame({"time": [5.0], "event": [1], "group": [0]})),
    ]
