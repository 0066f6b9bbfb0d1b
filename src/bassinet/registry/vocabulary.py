"""The registry's controlled vocabulary.

Every categorical field of the registry takes one of a fixed set of codes. The codes
are stored as text with a CHECK constraint in the database (see :mod:`.models`); on
import a centre's own codes ("haplo", "Haplo-HSCT", "HID") are mapped onto these by
a mapping file (:mod:`.mapping`). Codes are matched case-insensitively, and only the
codes below (or mapped ones) are accepted: an unknown code is an error, never a guess.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

#: The earliest date the registry accepts. Interfant's trials started in 1999 and its
#: retrospective and national series reach back to the 1980s; an earlier date, such as
#: a birth in year 1 or 1900 from a mistyped or defaulted cell, is an error, as is any
#: date after today.
REGISTRY_ERA_START = dt.date(1980, 1, 1)

#: Physiological bounds of the laboratory fields, (lowest, highest, unit). They catch
#: unit mix-ups and typing errors (1e308, a count per litre in a x10^9/L column), not
#: rare patients: counts above 1,000 x10^9/L occur in infant ALL, and at 5,000 x10^9/L
#: white cells would fill most of the blood volume (a leukocrit of well over half;
#: Lichtman & Rowe, Blood 1982;60:279-283), so nothing above that is a real count.
LAB_BOUNDS: dict[str, tuple[float, float, str]] = {
    "wbc": (0.0, 5000.0, "x10^9/L"),
    "day8_blasts": (0.0, 5_000_000.0, "per uL"),
}


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"


class LeukemiaType(StrEnum):
    ALL = "ALL"
    AML = "AML"


class Immunophenotype(StrEnum):
    PRO_B = "pro_B"
    COMMON_B = "common_B"
    PRE_B = "pre_B"
    MATURE_B = "mature_B"
    T_CELL = "T"
    MYELOID = "myeloid"
    MIXED = "mixed"
    OTHER = "other"


class CD10(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"


class KMT2AStatus(StrEnum):
    GERMLINE = "germline"
    REARRANGED = "rearranged"
    UNKNOWN = "unknown"


class KMT2APartner(StrEnum):
    """The KMT2A fusion partner: AFF1 = t(4;11), MLLT1 = t(11;19), MLLT3 = t(9;11), MLLT10 = t(10;11)."""

    AFF1 = "AFF1"
    MLLT1 = "MLLT1"
    MLLT3 = "MLLT3"
    MLLT10 = "MLLT10"
    OTHER = "other"


class CNSStatus(StrEnum):
    CNS1 = "CNS1"
    CNS2 = "CNS2"
    CNS3 = "CNS3"


class VitalStatus(StrEnum):
    ALIVE = "alive"
    DEAD = "dead"


class Arm(StrEnum):
    """Interfant-06 randomised consolidation: IB (control) or ADE + MAE (experimental)."""

    IB = "IB"
    ADE_MAE = "ADE_MAE"


class Course(StrEnum):
    INDUCTION = "induction"
    IB = "IB"
    ADE = "ADE"
    MAE = "MAE"
    MARMA = "MARMA"
    OCTADAD = "OCTADAD"
    MAINTENANCE = "maintenance"
    OTHER = "other"


class TimePoint(StrEnum):
    """When a response was assessed (MRD measurement or remission assessment)."""

    DAY_15 = "day_15"
    END_OF_INDUCTION = "end_of_induction"
    END_OF_CONSOLIDATION = "end_of_consolidation"
    START_OF_OCTADAD = "start_of_octadad"
    PRE_TRANSPLANT = "pre_transplant"
    OTHER = "other"


class RemissionStatus(StrEnum):
    CR = "CR"
    NO_CR = "no_CR"


class MRDMethod(StrEnum):
    FCM = "FCM"
    PCR = "PCR"


class MRDResult(StrEnum):
    """How an MRD result was reported: a fraction, negative, or positive but not quantifiable."""

    QUANTIFIED = "quantified"
    NEGATIVE = "negative"
    POSITIVE_NQ = "positive_nq"


class EventType(StrEnum):
    RESISTANT_DISEASE = "resistant_disease"
    RELAPSE = "relapse"
    DEATH = "death"
    SECOND_MALIGNANCY = "second_malignancy"


class RelapseSite(StrEnum):
    BONE_MARROW = "bone_marrow"
    CNS = "CNS"
    TESTIS = "testis"
    COMBINED = "combined"
    OTHER = "other"


class DeathCause(StrEnum):
    LEUKEMIA = "leukemia"
    INFECTION = "infection"
    TOXICITY = "toxicity"
    TRANSPLANT_RELATED = "transplant_related"
    OTHER = "other"
    UNKNOWN = "unknown"


class DonorType(StrEnum):
    MATCHED_SIBLING = "matched_sibling"
    MATCHED_UNRELATED = "matched_unrelated"
    HAPLOIDENTICAL = "haploidentical"
    CORD = "cord"


class StemCellSource(StrEnum):
    BONE_MARROW = "bone_marrow"
    PERIPHERAL_BLOOD = "peripheral_blood"
    CORD_BLOOD = "cord_blood"


class ConditioningIntensity(StrEnum):
    """Conditioning before transplant, as EBMT and CIBMTR classify it (Bacigalupo et al.,
    Biol Blood Marrow Transplant 2009;15:1628-1633): myeloablative or reduced intensity."""

    MYELOABLATIVE = "myeloablative"
    REDUCED_INTENSITY = "reduced_intensity"


class Serotherapy(StrEnum):
    """In vivo T-cell depletion in the conditioning: none, anti-thymocyte globulin, alemtuzumab."""

    NONE = "none"
    ATG = "ATG"
    ALEMTUZUMAB = "alemtuzumab"


class GVHDProphylaxis(StrEnum):
    """GVHD prophylaxis regimens as the EBMT MED-A form groups them.

    CsA_MTX_MMF is the Beijing protocol of haploidentical transplants with ATG. CsA ciclosporin,
    Tac tacrolimus, MTX methotrexate, MMF mycophenolate mofetil, PTCy
    post-transplant cyclophosphamide, TCD ex vivo T-cell depletion (e.g. alpha-beta depletion).
    """

    CSA = "CsA"
    CSA_MTX = "CsA_MTX"
    CSA_MMF = "CsA_MMF"
    CSA_MTX_MMF = "CsA_MTX_MMF"
    CSA_PREDNISONE = "CsA_prednisone"
    TAC_MTX = "Tac_MTX"
    TAC_MMF = "Tac_MMF"
    PTCY = "PTCy"
    EX_VIVO_TCD = "ex_vivo_TCD"
    OTHER = "other"
    NONE = "none"


class AcuteGVHDGrade(StrEnum):
    """Maximum overall grade of acute GVHD by the MAGIC criteria (Harris et al., Biol Blood
    Marrow Transplant 2016;22:4-10): 0 (none) to IV."""

    GRADE_0 = "0"
    GRADE_I = "I"
    GRADE_II = "II"
    GRADE_III = "III"
    GRADE_IV = "IV"


class ChronicGVHDSeverity(StrEnum):
    """Maximum global severity of chronic GVHD by the NIH consensus criteria (Jagasia et al.,
    Biol Blood Marrow Transplant 2015;21:389-401): none, mild, moderate, severe."""

    NONE = "none"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class CMVSerostatus(StrEnum):
    """Cytomegalovirus IgG serostatus before transplant."""

    POSITIVE = "positive"
    NEGATIVE = "negative"


#: HLA typing resolutions the registry accepts, as the number of alleles compared:
#: HLA-A, -B, -C, -DRB1 (8), with -DQB1 (10), with -DPB1 (12).
HLA_TYPED_ALLELES: tuple[int, ...] = (8, 10, 12)


class PreTransplantStatus(StrEnum):
    """Remission status before transplant: first remission, second or later, no remission."""

    CR1 = "CR1"
    CR2_OR_LATER = "CR2+"
    NO_REMISSION = "NR"


#: Codes whose words are not simply the code with spaces for underscores: what a reader of
#: a page or a report sees instead of the stored code (see :func:`label`).
LABELS: dict[str, str] = {
    "M": "male",
    "F": "female",
    "pro_B": "pro-B",
    "common_B": "common-B",
    "pre_B": "pre-B",
    "mature_B": "mature-B",
    "T": "T-cell",
    "no_CR": "no complete remission",
    "CR": "complete remission",
    "CR1": "first complete remission",
    "CR2+": "second or later complete remission",
    "NR": "no remission",
    "ADE_MAE": "ADE/MAE",
    "start_of_octadad": "start of OCTADAD",
    "positive_nq": "positive, not quantifiable",
    "cord": "cord blood",
    "transplant_related": "transplant-related",
    "haploidentical": "haploidentical",
    "reduced_intensity": "reduced intensity",
    "CsA": "ciclosporin",
    "CsA_MTX": "ciclosporin + methotrexate",
    "CsA_MMF": "ciclosporin + mycophenolate",
    "CsA_MTX_MMF": "ciclosporin + methotrexate + mycophenolate",
    "CsA_prednisone": "ciclosporin + prednisone",
    "Tac_MTX": "tacrolimus + methotrexate",
    "Tac_MMF": "tacrolimus + mycophenolate",
    "PTCy": "post-transplant cyclophosphamide",
    "ex_vivo_TCD": "ex vivo T-cell depletion",
}


def label(code: object) -> str:
    """The words for a vocabulary ``code`` on a page: ``"matched_sibling"`` -> "matched sibling".

    Codes listed in :data:`LABELS` take their words from there; any other code is shown with
    spaces for underscores; a value that is not a code (a number, a date) is shown as text.
    """
    text = str(code.value if isinstance(code, StrEnum) else code)
    return LABELS.get(text, text.replace("_", " "))


#: Field labels that are not the field's name in words (abbreviations keep their capitals).
FIELD_LABELS: dict[str, str] = {
    "study_id": "Study ID",
    "cd10": "CD10",
    "kmt2a_status": "KMT2A status",
    "kmt2a_partner": "KMT2A partner",
    "wbc": "White cells (WBC)",
    "cns_status": "CNS status",
    "day8_blasts": "Day-8 blasts",
    "mrd_value": "MRD before transplant",
    "mrd_method": "MRD method",
    "value": "MRD value",
}


def field_label(name: str) -> str:
    """The label a page gives the field ``name``, with its unit: ``"wbc"`` -> "White cells (WBC) (x10^9/L)".

    The entry forms, the data-quality findings and the query pages name fields this way, so
    that a reader never meets a column name.
    """
    unit = f" ({LAB_BOUNDS[name][2]})" if name in LAB_BOUNDS else ""
    return FIELD_LABELS.get(name, name.replace("_", " ").capitalize()) + unit
