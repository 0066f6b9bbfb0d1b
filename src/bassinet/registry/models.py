"""The registry's tables as a typed SQLAlchemy 2.0 model.

The rules that a single row can check are also written into the database as CHECK,
UNIQUE and FOREIGN KEY constraints, so that nothing bypassing Bassinet's importer
(a hand-written SQL statement, a later web form) can store what the importer would
refuse. Rules that span rows (dates in order across events, one death per patient)
are checked by :mod:`.rules`; "one death at most" is also a partial unique index.

Constraint names follow :data:`NAMING_CONVENTION`, so that Alembic migrations
address the same names on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bassinet.registry import vocabulary as v

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def code(enum: type[StrEnum], name: str) -> Enum:
    """A text column restricted to an enum's codes by a named CHECK constraint."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum),
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class StudyGroup(Base):
    """A national or cooperative study group (e.g. one of Interfant's 18 groups)."""

    __tablename__ = "study_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    original_country: Mapped[bool | None] = mapped_column(
        doc="Whether the group took part from the start (Interfant's 'original countries')."
    )

    centres: Mapped[list[Centre]] = relationship(back_populates="study_group")


class Centre(Base):
    """A treating or transplanting centre."""

    __tablename__ = "centre"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    study_group_id: Mapped[int | None] = mapped_column(ForeignKey("study_group.id"))

    study_group: Mapped[StudyGroup | None] = relationship(back_populates="centres")
    patients: Mapped[list[Patient]] = relationship(back_populates="centre")


class Patient(Base):
    """One infant: identity, diagnosis and biology, treatment assignment and follow-up."""

    __tablename__ = "patient"
    __table_args__ = (
        UniqueConstraint("centre_id", "study_id"),
        # One identity per study ID across the registry (migration 0003): a centre's rename
        # or a patient's move never makes a second patient.
        Index("uq_patient_study_id", "study_id", unique=True),
        CheckConstraint("date_of_birth <= diagnosis_date", name="born_before_diagnosis"),
        CheckConstraint("wbc IS NULL OR wbc >= 0", name="wbc_not_negative"),
        CheckConstraint("day8_blasts IS NULL OR day8_blasts >= 0", name="blasts_not_negative"),
        CheckConstraint(
            "kmt2a_partner IS NULL OR kmt2a_status = 'rearranged'",
            name="partner_only_if_rearranged",
        ),
        CheckConstraint(
            "(randomisation_arm IS NULL) = (randomisation_date IS NULL)",
            name="arm_with_date",
        ),
        CheckConstraint("last_contact_date >= diagnosis_date", name="follow_up_after_diagnosis"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centre.id"), index=True)
    study_id: Mapped[str] = mapped_column(String(64), doc="Pseudonymous study identifier.")
    sex: Mapped[v.Sex] = mapped_column(code(v.Sex, "sex"))
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    diagnosis_date: Mapped[dt.date] = mapped_column(Date)
    leukemia_type: Mapped[v.LeukemiaType] = mapped_column(code(v.LeukemiaType, "leukemia_type"))
    immunophenotype: Mapped[v.Immunophenotype | None] = mapped_column(
        code(v.Immunophenotype, "immunophenotype")
    )
    cd10: Mapped[v.CD10 | None] = mapped_column(code(v.CD10, "cd10"))
    kmt2a_status: Mapped[v.KMT2AStatus] = mapped_column(code(v.KMT2AStatus, "kmt2a_status"))
    kmt2a_partner: Mapped[v.KMT2APartner | None] = mapped_column(code(v.KMT2APartner, "kmt2a_partner"))
    wbc: Mapped[float | None] = mapped_column(Float, doc="White cell count at diagnosis, x10^9/L.")
    cns_status: Mapped[v.CNSStatus | None] = mapped_column(code(v.CNSStatus, "cns_status"))
    day8_blasts: Mapped[float | None] = mapped_column(
        Float, doc="Peripheral blasts per uL on day 8, after the prednisone prephase."
    )
    protocol: Mapped[str | None] = mapped_column(String(64))
    protocol_version: Mapped[str | None] = mapped_column(String(32))
    randomisation_arm: Mapped[v.Arm | None] = mapped_column(code(v.Arm, "randomisation_arm"))
    randomisation_date: Mapped[dt.date | None] = mapped_column(Date)
    last_contact_date: Mapped[dt.date] = mapped_column(Date)
    vital_status: Mapped[v.VitalStatus] = mapped_column(code(v.VitalStatus, "vital_status"))

    centre: Mapped[Centre] = relationship(back_populates="patients")
    remissions: Mapped[list[RemissionAssessment]] = relationship(
        back_populates="patient", cascade="all, delete-orphan"
    )
    mrd: Mapped[list[MRDMeasurement]] = relationship(back_populates="patient", cascade="all, delete-orphan")
    courses: Mapped[list[TreatmentCourse]] = relationship(
        back_populates="patient", cascade="all, delete-orphan"
    )
    transplants: Mapped[list[Transplant]] = relationship(
        back_populates="patient", cascade="all, delete-orphan"
    )
    events: Mapped[list[Event]] = relationship(back_populates="patient", cascade="all, delete-orphan")


class RemissionAssessment(Base):
    """A bone-marrow remission assessment at a protocol time point."""

    __tablename__ = "remission_assessment"
    __table_args__ = (UniqueConstraint("patient_id", "time_point"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    time_point: Mapped[v.TimePoint] = mapped_column(code(v.TimePoint, "remission_time_point"))
    assessment_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[v.RemissionStatus] = mapped_column(code(v.RemissionStatus, "remission_status"))

    patient: Mapped[Patient] = relationship(back_populates="remissions")


class MRDMeasurement(Base):
    """A minimal residual disease measurement: a fraction, negative, or positive-not-quantifiable."""

    __tablename__ = "mrd_measurement"
    __table_args__ = (
        UniqueConstraint("patient_id", "time_point", "method"),
        CheckConstraint("value IS NULL OR (value >= 0 AND value <= 1)", name="value_is_fraction"),
        CheckConstraint("(result = 'quantified') = (value IS NOT NULL)", name="value_iff_quantified"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    time_point: Mapped[v.TimePoint] = mapped_column(code(v.TimePoint, "mrd_time_point"))
    measured_on: Mapped[dt.date] = mapped_column(Date)
    method: Mapped[v.MRDMethod] = mapped_column(code(v.MRDMethod, "mrd_method"))
    result: Mapped[v.MRDResult] = mapped_column(code(v.MRDResult, "mrd_result"))
    value: Mapped[float | None] = mapped_column(Float)

    patient: Mapped[Patient] = relationship(back_populates="mrd")


class TreatmentCourse(Base):
    """A course of the treatment protocol and the date it started."""

    __tablename__ = "treatment_course"
    __table_args__ = (UniqueConstraint("patient_id", "course"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    course: Mapped[v.Course] = mapped_column(code(v.Course, "course"))
    start_date: Mapped[dt.date] = mapped_column(Date)

    patient: Mapped[Patient] = relationship(back_populates="courses")


class Transplant(Base):
    """An allogeneic stem-cell transplant."""

    __tablename__ = "transplant"
    __table_args__ = (
        UniqueConstraint("patient_id", "transplant_date"),
        CheckConstraint(
            "engraftment_date IS NULL OR engraftment_date >= transplant_date",
            name="engraftment_after_transplant",
        ),
        CheckConstraint("mrd_value IS NULL OR (mrd_value >= 0 AND mrd_value <= 1)", name="mrd_is_fraction"),
        CheckConstraint(
            "(mrd_result = 'quantified') = (mrd_value IS NOT NULL)", name="mrd_value_iff_quantified"
        ),
        # The EBMT/CIBMTR items of migration 0009; all nullable, as historical rows lack them.
        CheckConstraint("(hla_matched IS NULL) = (hla_typed IS NULL)", name="hla_matched_with_typed"),
        CheckConstraint("hla_typed IS NULL OR hla_typed IN (8, 10, 12)", name="hla_typed_resolution"),
        CheckConstraint(
            "hla_matched IS NULL OR (hla_matched >= 0 AND hla_matched <= hla_typed)",
            name="hla_matched_in_range",
        ),
        CheckConstraint(
            "platelet_engraftment_date IS NULL OR platelet_engraftment_date >= transplant_date",
            name="platelet_engraftment_after_transplant",
        ),
        CheckConstraint(
            "agvhd_date IS NULL OR agvhd_date > transplant_date", name="agvhd_after_transplant"
        ),
        CheckConstraint(
            "cgvhd_date IS NULL OR cgvhd_date > transplant_date", name="cgvhd_after_transplant"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    transplant_date: Mapped[dt.date] = mapped_column(Date)
    donor_type: Mapped[v.DonorType] = mapped_column(code(v.DonorType, "donor_type"))
    stem_cell_source: Mapped[v.StemCellSource | None] = mapped_column(
        code(v.StemCellSource, "stem_cell_source")
    )
    remission_status: Mapped[v.PreTransplantStatus] = mapped_column(
        code(v.PreTransplantStatus, "pre_transplant_status")
    )
    mrd_result: Mapped[v.MRDResult | None] = mapped_column(code(v.MRDResult, "pre_transplant_mrd"))
    mrd_value: Mapped[float | None] = mapped_column(Float)
    mrd_method: Mapped[v.MRDMethod | None] = mapped_column(code(v.MRDMethod, "pre_transplant_mrd_method"))
    engraftment_date: Mapped[dt.date | None] = mapped_column(
        Date, doc="Neutrophil engraftment: the first of three days with neutrophils >= 0.5 x10^9/L."
    )
    hla_matched: Mapped[int | None] = mapped_column(Integer, doc="HLA alleles matched, of hla_typed.")
    hla_typed: Mapped[int | None] = mapped_column(Integer, doc="HLA alleles compared: 8, 10 or 12.")
    conditioning_intensity: Mapped[v.ConditioningIntensity | None] = mapped_column(
        code(v.ConditioningIntensity, "conditioning_intensity")
    )
    tbi: Mapped[bool | None] = mapped_column(doc="Total body irradiation in the conditioning.")
    serotherapy: Mapped[v.Serotherapy | None] = mapped_column(code(v.Serotherapy, "serotherapy"))
    gvhd_prophylaxis: Mapped[v.GVHDProphylaxis | None] = mapped_column(
        code(v.GVHDProphylaxis, "gvhd_prophylaxis")
    )
    platelet_engraftment_date: Mapped[dt.date | None] = mapped_column(
        Date, doc="Platelet engraftment: the first of 7 days with platelets >= 20 x10^9/L untransfused."
    )
    agvhd_grade: Mapped[v.AcuteGVHDGrade | None] = mapped_column(
        code(v.AcuteGVHDGrade, "agvhd_grade"), doc="Maximum MAGIC grade of acute GVHD."
    )
    agvhd_date: Mapped[dt.date | None] = mapped_column(
        Date, doc="Date the maximum acute GVHD grade was reached."
    )
    cgvhd_severity: Mapped[v.ChronicGVHDSeverity | None] = mapped_column(
        code(v.ChronicGVHDSeverity, "cgvhd_severity"), doc="Maximum NIH global severity of chronic GVHD."
    )
    cgvhd_date: Mapped[dt.date | None] = mapped_column(Date, doc="Date chronic GVHD was diagnosed.")
    cgvhd_systemic_treatment: Mapped[bool | None] = mapped_column(
        doc="Whether chronic GVHD needed systemic treatment."
    )
    cmv_donor: Mapped[v.CMVSerostatus | None] = mapped_column(code(v.CMVSerostatus, "cmv_donor"))
    cmv_recipient: Mapped[v.CMVSerostatus | None] = mapped_column(code(v.CMVSerostatus, "cmv_recipient"))

    patient: Mapped[Patient] = relationship(back_populates="transplants")


class Event(Base):
    """A clinical event: resistant disease, relapse (with site), death (with cause), second malignancy."""

    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("patient_id", "event_type", "event_date"),
        CheckConstraint("relapse_site IS NULL OR event_type = 'relapse'", name="site_only_for_relapse"),
        CheckConstraint("death_cause IS NULL OR event_type = 'death'", name="cause_only_for_death"),
        Index(
            "uq_event_one_death",
            "patient_id",
            unique=True,
            sqlite_where=text("event_type = 'death'"),
            postgresql_where=text("event_type = 'death'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    event_type: Mapped[v.EventType] = mapped_column(code(v.EventType, "event_type"))
    event_date: Mapped[dt.date] = mapped_column(Date)
    relapse_site: Mapped[v.RelapseSite | None] = mapped_column(code(v.RelapseSite, "relapse_site"))
    death_cause: Mapped[v.DeathCause | None] = mapped_column(code(v.DeathCause, "death_cause"))

    patient: Mapped[Patient] = relationship(back_populates="events")


class ImportRun(Base):
    """One run of the importer: which files (with SHA-256), who, when, and what it did."""

    __tablename__ = "import_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    sources: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, doc="One entry per file: path, sha256, and rows read per sheet."
    )
    counts: Mapped[dict[str, Any]] = mapped_column(
        JSON, doc="Per sheet: inserted, updated, unchanged, deleted, rejected."
    )
    quarantine_file: Mapped[str | None] = mapped_column(Text)


class AuditEntry(Base):
    """One field of one change to registry data. Append-only: triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"
    __table_args__ = (CheckConstraint("action IN ('insert', 'update', 'delete')", name="action"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(6))
    table_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    import_run_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(
        Text, doc="Why the change was made; None (shown as 'no reason given') for changes made in SQL."
    )


class AuditContext(Base):
    """SQLite only: present (uncommitted) while a Bassinet session writes, so the audit triggers
    leave to the session the changes it audits itself. Never committed; unused on PostgreSQL,
    which uses a transaction-local setting instead."""

    __tablename__ = "audit_context"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(100))


class RiskAssignment(Base):
    """A protocol's decision for a patient (risk group or none), with its reasons, as last evaluated."""

    __tablename__ = "risk_assignment"
    __table_args__ = (UniqueConstraint("patient_id", "protocol"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    protocol: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(100))
    risk_group: Mapped[str | None] = mapped_column(String(16))
    decision: Mapped[dict[str, Any]] = mapped_column(
        JSON, doc="The decision with criteria and missing facts."
    )
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RandomisationKey(Base):
    """The fingerprint of the key file from which a protocol's sequences derive; the key itself
    lives outside the registry (:mod:`bassinet.protocols.keyfile`)."""

    __tablename__ = "randomisation_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    protocol: Mapped[str] = mapped_column(String(32), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Allocation(Base):
    """One allocation: by Bassinet (a position in its stratum's sequence) or recorded before it.

    ``source`` is "bassinet" for an allocation drawn from the sequence, "recorded" for an
    arm that was on record before (an imported ``randomisation_arm``); a recorded
    allocation takes no position. ``decision_id`` and ``protocol_version`` name the
    stored stratification decision the allocation relied on.
    """

    __tablename__ = "allocation"
    __table_args__ = (
        UniqueConstraint("protocol", "stratum", "position"),
        UniqueConstraint("protocol", "patient_id"),
        CheckConstraint("position >= 0", name="position_not_negative"),
        CheckConstraint("source IN ('bassinet', 'recorded')", name="source"),
        CheckConstraint("(source = 'recorded') = (position IS NULL)", name="position_iff_drawn"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    protocol: Mapped[str] = mapped_column(String(32))
    stratum: Mapped[str] = mapped_column(String(200))
    position: Mapped[int | None] = mapped_column(Integer)
    arm: Mapped[str] = mapped_column(String(16))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="RESTRICT"))
    allocated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    allocated_by: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(16), default="bassinet")
    allocated_on: Mapped[dt.date | None] = mapped_column(Date, doc="The randomisation date.")
    decision_id: Mapped[int | None] = mapped_column(Integer)
    protocol_version: Mapped[str | None] = mapped_column(String(100))


class Unblinding(Base):
    """A record that someone was shown a stratum's allocation sequence, and why."""

    __tablename__ = "unblinding"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    protocol: Mapped[str] = mapped_column(String(32))
    stratum: Mapped[str] = mapped_column(String(200))
    positions: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class BalanceView(Base):
    """A record that someone was shown the allocation balance, and in which detail."""

    __tablename__ = "balance_view"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    protocol: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(16), doc="'by stratum' or 'totals'.")
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class DataQuery(Base):
    """A monitor's query on one field of one record (migration 0011): raised, answered, closed.

    Registry data, audited field by field like the records it is about: each step (raise,
    answer, close) is an insert or update of this row, with its actor and reason in the
    audit trail. ``record`` is ``patient`` or ``KIND:ID`` (as ``bassinet delete --record``).
    """

    __tablename__ = "data_query"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'answered', 'closed')", name="status"),
        CheckConstraint("(status = 'open') OR (answered_at IS NOT NULL)", name="answered_before_closed"),
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_iff_closed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    record: Mapped[str] = mapped_column(String(64), doc="'patient' or KIND:ID.")
    field: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8))
    raised_by: Mapped[str] = mapped_column(String(100))
    raised_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    patient: Mapped[Patient] = relationship()


class SdvMark(Base):
    """A monitor's source-data verification of one field of one record (migration 0012).

    ``record`` is ``patient`` or ``KIND:ID`` (as :class:`DataQuery`); ``verified_value`` is the
    value as the audit trail writes it at verification, so that a later change is seen even
    if it bypassed Bassinet (a change through Bassinet deletes the mark in its transaction).
    """

    __tablename__ = "sdv_mark"
    __table_args__ = (UniqueConstraint("patient_id", "record", "field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    record: Mapped[str] = mapped_column(String(64), doc="'patient' or KIND:ID.")
    field: Mapped[str] = mapped_column(String(64))
    verified_value: Mapped[str | None] = mapped_column(Text)
    verified_by: Mapped[str] = mapped_column(String(100))
    verified_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class PatientLock(Base):
    """A lock of a patient's casebook (the patient row and all its records), kept after unlocking."""

    __tablename__ = "patient_lock"
    __table_args__ = (
        CheckConstraint(
            "(unlocked_at IS NULL) = (unlocked_by IS NULL)"
            " AND (unlocked_at IS NULL) = (unlock_reason IS NULL)",
            name="unlock_complete",
        ),
        Index(
            "uq_patient_lock_one_current",
            "patient_id",
            unique=True,
            sqlite_where=text("unlocked_at IS NULL"),
            postgresql_where=text("unlocked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    locked_by: Mapped[str] = mapped_column(String(100))
    locked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    lock_reason: Mapped[str] = mapped_column(Text)
    unlocked_by: Mapped[str | None] = mapped_column(String(100))
    unlocked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    unlock_reason: Mapped[str | None] = mapped_column(Text)


class CasebookSignature(Base):
    """An investigator's signature of a patient's casebook, and its voiding by a later change."""

    __tablename__ = "casebook_signature"
    __table_args__ = (
        CheckConstraint("(voided_at IS NULL) = (voided_by IS NULL)", name="void_complete"),
        Index(
            "uq_casebook_signature_one_current",
            "patient_id",
            unique=True,
            sqlite_where=text("voided_at IS NULL"),
            postgresql_where=text("voided_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    signed_by: Mapped[str] = mapped_column(String(100), doc="The signer's username.")
    signer_name: Mapped[str] = mapped_column(String(200), doc="The signer's full name, as shown.")
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    meaning: Mapped[str] = mapped_column(Text, doc="The meaning of the signature, as shown to the signer.")
    casebook_sha256: Mapped[str] = mapped_column(String(64), doc="SHA-256 of the casebook's values.")
    voided_by: Mapped[str | None] = mapped_column(String(100))
    voided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    void_reason: Mapped[str | None] = mapped_column(Text)


#: Tables that hold registry data (audited), in an order safe for inserting.
REGISTRY_TABLES: tuple[type[Base], ...] = (
    StudyGroup,
    Centre,
    Patient,
    RemissionAssessment,
    MRDMeasurement,
    TreatmentCourse,
    Transplant,
    Event,
    RiskAssignment,
    Allocation,
    Unblinding,
    BalanceView,
    DataQuery,
    SdvMark,
    PatientLock,
    CasebookSignature,
)


class ExportRecord(Base):
    """One release of registry data: who, when, which format and scope, which patients, which files.

    Not registry data (not audited field by field): the log itself is the record. Migration
    0005 makes it append-only in the database, as the audit trail is.
    """

    __tablename__ = "export_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    format: Mapped[str] = mapped_column(String(32))
    deidentified: Mapped[bool] = mapped_column()
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, doc="What was exported and with which options.")
    patients: Mapped[int] = mapped_column(Integer, doc="How many patients' records left.")
    patient_ids: Mapped[list[int]] = mapped_column(JSON, doc="The registry ids of those patients.")
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, doc="One entry per file: path, sha256, bytes.")
    sha256: Mapped[str] = mapped_column(String(64), doc="SHA-256 of the files' list of names and hashes.")


# --- Access: users, grants, personal access tokens and the security log (migration 0006) ---


class Role(StrEnum):
    """What a user may do: the rows of :data:`bassinet.access.POLICY`."""

    ADMINISTRATOR = "administrator"
    TRIAL_STATISTICIAN = "trial_statistician"
    DATA_MANAGER = "data_manager"
    CLINICIAN = "clinician"
    MONITOR = "monitor"
    INVESTIGATOR = "investigator"


class ScopeKind(StrEnum):
    """Where a grant applies: one centre, every centre of one study group, or the whole study."""

    CENTRE = "centre"
    STUDY_GROUP = "study_group"
    STUDY = "study"


class User(Base):
    """A local account: an Argon2id password hash, an optional TOTP secret, and lockout state."""

    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint("failed_logins >= 0", name="failed_logins_not_negative"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200), doc="Argon2id, in PHC string format.")
    totp_secret: Mapped[str | None] = mapped_column(String(64), doc="Base32 TOTP secret, once enrolled.")
    totp_last_counter: Mapped[int | None] = mapped_column(
        Integer, doc="The 30-second counter of the last accepted code: a code is accepted once."
    )
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    full_name: Mapped[str | None] = mapped_column(
        String(200), doc="The name a signature shows beside the username (migration 0012)."
    )
    date_format: Mapped[str | None] = mapped_column(
        String(20), doc="How the entry forms show and read dates (strftime); empty: ISO 8601."
    )
    decimal_mark: Mapped[str | None] = mapped_column(
        String(1), doc="The entry forms' decimal mark, '.' or ','; empty: '.'."
    )

    grants: Mapped[list[Grant]] = relationship(back_populates="user", cascade="all, delete-orphan")


class Grant(Base):
    """A role given to a user over a scope: one centre, one study group, or the whole study."""

    __tablename__ = "access_grant"
    __table_args__ = (
        CheckConstraint(
            "(scope_kind = 'centre' AND centre_id IS NOT NULL AND study_group_id IS NULL)"
            " OR (scope_kind = 'study_group' AND study_group_id IS NOT NULL AND centre_id IS NULL)"
            " OR (scope_kind = 'study' AND centre_id IS NULL AND study_group_id IS NULL)",
            name="scope_names_its_target",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(code(Role, "role"))
    scope_kind: Mapped[ScopeKind] = mapped_column(code(ScopeKind, "scope_kind"))
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centre.id", ondelete="RESTRICT"))
    study_group_id: Mapped[int | None] = mapped_column(ForeignKey("study_group.id", ondelete="RESTRICT"))

    user: Mapped[User] = relationship(back_populates="grants")
    centre: Mapped[Centre | None] = relationship()
    study_group: Mapped[StudyGroup | None] = relationship()


class AccessToken(Base):
    """A personal access token: only its SHA-256 is stored; it acts as its owner or narrower."""

    __tablename__ = "access_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    actions: Mapped[list[str] | None] = mapped_column(
        JSON, doc="The actions the token may use (None: all its owner's)."
    )
    centre_ids: Mapped[list[int] | None] = mapped_column(
        JSON, doc="The centres the token may reach (None: all its owner's)."
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class SecurityEntry(Base):
    """One security event (login, failure, lockout, grant, token...). Append-only, like the audit log."""

    __tablename__ = "security_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    event: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100), doc="Who did it (a username or an OS login).")
    subject: Mapped[str | None] = mapped_column(String(100), doc="The account it concerns.")
    detail: Mapped[str | None] = mapped_column(Text)


# --- Report jobs run from the web application (migration 0008) ---


class ReportJob(Base):
    """One run of an analysis plan started from the web or the API: who, when, status, hashes, files.

    Not registry data (not audited field by field): the row is the record of the run. The plan
    and data hashes are the plan runner's (:attr:`bassinet.plans.PlanResult.plan_sha256`,
    ``data_sha256``), so a past report can be matched to the plan text and the data it used.
    """

    __tablename__ = "report_job"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_percent"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan: Mapped[str] = mapped_column(String(200), doc="The shipped plan's name or the uploaded file's name.")
    title: Mapped[str | None] = mapped_column(Text, doc="The plan's title, once read.")
    actor: Mapped[str] = mapped_column(String(100), doc="Who started it (a username).")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"), index=True)
    centre_ids: Mapped[list[int] | None] = mapped_column(
        JSON, doc="The centres whose patients the report may use (None: every centre)."
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(7))
    progress: Mapped[int] = mapped_column(Integer, default=0, doc="Percent done, 0 to 100.")
    step: Mapped[str | None] = mapped_column(String(200), doc="What the job is doing now.")
    plan_sha256: Mapped[str | None] = mapped_column(String(64))
    data_sha256: Mapped[str | None] = mapped_column(String(64))
    output_dir: Mapped[str] = mapped_column(Text, doc="The folder the report's files are written to.")
    files: Mapped[list[str] | None] = mapped_column(JSON, doc="The names of the files written.")
    error: Mapped[str | None] = mapped_column(Text, doc="Why a failed job failed (one line).")
    runner: Mapped[str | None] = mapped_column(
        String(200), doc="host:pid of the server process running it (to find jobs a stopped server left)."
    )
class WebSession(Base):
    """A signed-in (or signing-in) browser session of the web application (migration 0007).

    Only the SHA-256 of the session id is stored, so a copy of the table signs no one in.
    ``stage`` is ``anonymous`` (before sign-in: holds the sign-in form's CSRF token),
    ``password`` (password accepted, TOTP code awaited), ``enrol`` (password accepted, a
    second factor to enrol first, its pending secret held here until a code confirms it) or
    ``signed_in``.
    """

    __tablename__ = "web_session"
    __table_args__ = (
        CheckConstraint("stage IN ('anonymous', 'password', 'enrol', 'signed_in')", name="stage"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    csrf_token: Mapped[str] = mapped_column(String(64))
    pending_totp_secret: Mapped[str | None] = mapped_column(String(64))
    oidc_state: Mapped[str | None] = mapped_column(
        String(64), doc="OpenID Connect: the state of a sign-in sent to the provider, awaited back."
    )
    oidc_nonce: Mapped[str | None] = mapped_column(String(64), doc="OpenID Connect: the ID token's nonce.")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
