"""Synthetic data: cohorts calibrated to the published studies, and registry-shaped rows.

- :func:`simulate_interfant06`: an Interfant-06-like trial (651 infants with ALL), risk
  groups and transplant indications by Bassinet's own protocol engine.
- :func:`simulate_hsct_infants`: the 126-infant allo-HSCT cohort.
- :func:`calibrate`: many replicates of either, analysed, against every published figure.
- :func:`registry_rows`: valid but uncalibrated rows of any size, for tests and benchmarks.

Every simulator returns :class:`RegistryRows` in the registry's import format
(:func:`write_csv`, :func:`write_xlsx`) and is deterministic for a given seed.
"""

from bassinet.simulate.calibrate import Calibration, FigureCheck, Target, calibrate
from bassinet.simulate.hsct_infants import HsctInfantsModel, simulate_hsct_infants
from bassinet.simulate.interfant06 import Interfant06Model, simulate_interfant06
from bassinet.simulate.registry_rows import RegistryRows, registry_rows, write_csv, write_xlsx

__all__ = [
    "Calibration",
    "FigureCheck",
    "HsctInfantsModel",
    "Interfant06Model",
    "RegistryRows",
    "Target",
    "calibrate",
    "registry_rows",
    "simulate_hsct_infants",
    "simulate_interfant06",
    "write_csv",
    "write_xlsx",
]
