"""The plan runner's building blocks, public for code that assembles a result another way.

The federated coordinator (:mod:`bassinet.federate`) builds a :class:`~bassinet.plans.PlanResult`
from the sites' count tables instead of patient rows; it turns the tables back into rows and
then uses exactly these functions of the central run, so that both reports say the same thing
in the same words. Nothing here is new: each name is the runner's own function.
"""

from bassinet.plans._estimate import incidence_group, survival_group
from bassinet.plans._exposure import exposure_analysis, landmark_analysis
from bassinet.plans._narrative import landmark_sentence, methods, population_words, sentence
from bassinet.plans._run import _not_estimable as not_estimable
from bassinet.plans._run import _ticks as ticks
from bassinet.plans._run import _two_group_hr as two_group_hr
from bassinet.plans._tables import patient_flow

__all__ = [
    "exposure_analysis",
    "incidence_group",
    "landmark_analysis",
    "landmark_sentence",
    "methods",
    "not_estimable",
    "patient_flow",
    "population_words",
    "sentence",
    "survival_group",
    "ticks",
    "two_group_hr",
]
