"""A plan's ``federation`` block: the disclosure rules a site enforces before anything leaves it.

The block sits beside the plan's analyses, so the plan's hash covers it: every site and
the coordinator agree on the rules by agreeing on the hash.

.. code-block:: yaml

    federation:
      time_unit: week        # day, week or month: times are rounded up to the unit's end
      min_cell: 5            # a count below this (but not 0) is merged with the next time
      min_group: 10          # a group smaller than this is not summarised (refused, with the reason)
      stratify_by_site: false  # log-rank, Gray and Cox stratified by site

The analysis plan schema (:mod:`bassinet.plans`) knows nothing of this block, so it is
taken out of the text (its lines blanked, so line numbers in errors stay right) before
the rest is validated by :func:`bassinet.plans.load_plan`.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from bassinet.errors import ConfigurationError
from bassinet.plans import LoadedPlan, load_plan

TimeUnit = Literal["day", "week", "month"]
DAYS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 30.4375}


class _Federation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    time_unit: TimeUnit
    min_cell: int
    min_group: int
    stratify_by_site: bool = False


@dataclass(frozen=True)
class Disclosure:
    """The disclosure rules of a federated plan.

    Attributes
    ----------
    time_unit
        ``day``, ``week`` or ``month`` (30.4375 days): each time in days is rounded up to
        the end of its unit (day 0 stays 0), so an event is never placed before it happened.
    min_cell
        Smallest non-zero count that may leave a site (events of a cause, or censorings, at
        one time); 1 releases every count.
    min_group
        Smallest group (patients in one group of one analysis at one site) that may be
        summarised; a smaller group makes the site refuse the analysis.
    stratify_by_site
        Whether the pooled tests and the Cox model are stratified by site.
    """

    time_unit: TimeUnit
    min_cell: int
    min_group: int
    stratify_by_site: bool = False

    @property
    def days(self) -> float:
        """Length of the time unit in days."""
        return DAYS[self.time_unit]

    def coarsen(self, days: float) -> float:
        """A time in days rounded up to the end of its unit (exact for ``day`` on whole days)."""
        if self.time_unit == "day":
            return float(math.ceil(days))
        return math.ceil(days / self.days) * self.days


@dataclass(frozen=True)
class FederatedPlan:
    """A validated plan with its disclosure rules; ``sha256`` is the hash of the whole text."""

    loaded: LoadedPlan
    disclosure: Disclosure

    @property
    def sha256(self) -> str:
        return self.loaded.sha256


def _blank_block(text: str, key: str) -> str:
    """``text`` with the top-level mapping entry ``key`` replaced by blank lines."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(node, yaml.MappingNode):
        return text
    lines = text.splitlines(keepends=True)
    for i, (k, v) in enumerate(node.value):
        if k.value != key:
            continue
        first = k.start_mark.line
        last = node.value[i + 1][0].start_mark.line if i + 1 < len(node.value) else len(lines)
        if i + 1 == len(node.value):
            last = v.end_mark.line + (1 if v.end_mark.column > 0 else 0)
        for j in range(first, min(last, len(lines))):
            lines[j] = "\n"
    return "".join(lines)


def load_federated_plan(path: Path) -> FederatedPlan:
    """Read a plan with a ``federation`` block; errors name the plan's line and the rule.

    Raises
    ------
    ConfigurationError
        The plan is not valid (as :func:`bassinet.plans.load_plan` says), or its
        ``federation`` block is missing or wrong.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read the plan {path}: {exc.strerror}") from None
    return federated_plan_from_text(text, path)


def federated_plan_from_text(text: str, path: Path) -> FederatedPlan:
    """The federated plan whose text is ``text`` (errors name ``path``): what a site file carries."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict) or "federation" not in data:
        raise ConfigurationError(
            f"{path}: the plan has no 'federation' block: a federated plan must say its disclosure "
            "rules (time_unit: day|week|month, min_cell, min_group)"
        )
    try:
        rules = _Federation.model_validate(data["federation"])
    except ValidationError as exc:
        problems = "; ".join(
            f"federation.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigurationError(f"{path}: {problems}") from None
    for name in ("min_cell", "min_group"):
        if getattr(rules, name) < 1:
            raise ConfigurationError(f"{path}: federation.{name} is {getattr(rules, name)}: it must be >= 1")
    with tempfile.TemporaryDirectory() as folder:
        stripped = Path(folder) / path.name
        stripped.write_text(_blank_block(text, "federation"), encoding="utf-8")
        try:
            loaded = load_plan(stripped)
        except ConfigurationError as exc:
            raise ConfigurationError(str(exc).replace(str(stripped), str(path))) from None
    disclosure = Disclosure(rules.time_unit, rules.min_cell, rules.min_group, rules.stratify_by_site)
    return FederatedPlan(LoadedPlan(loaded.plan, path, text), disclosure)
