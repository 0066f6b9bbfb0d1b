"""Synthetic data: registry-shaped rows for tests, examples and benchmarks.

Calibrated cohorts that reproduce the published studies are a later addition; what is
here now makes valid, varied registry rows with no claim to realism.
"""

from bassinet.simulate.registry_rows import RegistryRows, registry_rows, write_csv, write_xlsx

__all__ = ["RegistryRows", "registry_rows", "write_csv", "write_xlsx"]
