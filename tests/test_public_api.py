"""The public surface is small and deliberate: changing it must change this test."""

from __future__ import annotations

import bassinet
import bassinet.application
import bassinet.design
import bassinet.endpoints
import bassinet.exchange
import bassinet.plans
import bassinet.registry
import bassinet.report
import bassinet.simulate


def test_top_level_names() -> None:
    assert sorted(bassinet.__all__) == [
        "BassinetError",
        "ConfigurationError",
        "ConvergenceError",
        "DataError",
        "RegistryError",
        "StatisticalWarning",
        "__version__",
    ]


def test_registry_names() -> None:
    assert sorted(bassinet.registry.__all__) == [
        "ImportRejected",
        "ImportReport",
        "Mapping",
        "Problem",
        "RegistryFrames",
        "SheetCount",
        "database_url",
        "export_frames",
        "import_files",
        "init_registry",
        "load_mapping",
        "make_engine",
        "open_registry",
        "read_audit_log",
        "read_frames",
        "registry_session",
        "require_current",
    ]


def test_simulate_names() -> None:
    assert sorted(bassinet.simulate.__all__) == [
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


def test_design_names() -> None:
    assert sorted(bassinet.design.__all__) == [
        "CureFraction",
        "Curve",
        "Exponential",
        "InterimAnalysis",
        "Method",
        "PiecewiseExponential",
        "Power",
        "SampleSize",
        "SequentialDesign",
        "SequentialSurvival",
        "SimulatedPower",
        "SimulatedSequential",
        "Test",
        "check_design",
        "check_rates",
        "dropout_hazard",
        "events_needed",
        "group_sequential",
        "hazard_ratio_from_survival",
        "interim_analysis",
        "power_for_events",
        "power_for_patients",
        "sample_size",
        "sequential_power",
        "sequential_sample_size",
        "simulate_power",
        "simulate_sequential",
    ]


def test_plan_and_report_names() -> None:
    assert sorted(bassinet.plans.__all__) == [
        "AnalysisResult",
        "CATALOGUE",
        "CurveData",
        "Estimate",
        "FlowStep",
        "GroupResult",
        "InterimLook",
        "InterimResult",
        "LandmarkRow",
        "LoadedPlan",
        "ModelTerm",
        "Plan",
        "PlanResult",
        "Scalar",
        "TestResult",
        "analysis_frame",
        "hr_text",
        "load_plan",
        "p_text",
        "population_ids",
        "run_plan",
        "select_patients",
        "shipped_plan",
    ]
    assert sorted(bassinet.report.__all__) == [
        "ReportFiles",
        "plot_curves",
        "render_html",
        "to_svg",
        "write_report",
    ]


def test_endpoint_names() -> None:
    assert sorted(bassinet.endpoints.__all__) == [
        "ClinicalRecords",
        "DERIVED_COLUMNS",
        "ENDPOINTS",
        "Endpoint",
        "ORIGINS",
        "Origin",
        "derive",
        "get_endpoint",
        "to_adsl",
        "to_adtte",
        "write_xpt",
    ]


def test_every_public_name_exists() -> None:
    for module in (
        bassinet,
        bassinet.registry,
        bassinet.simulate,
        bassinet.endpoints,
        bassinet.design,
        bassinet.plans,
        bassinet.report,
        bassinet.exchange,
    ):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_data_errors_are_value_errors() -> None:
    assert issubclass(bassinet.DataError, ValueError)
    assert issubclass(bassinet.DataError, bassinet.BassinetError)
    assert issubclass(bassinet.ConvergenceError, RuntimeError)
    assert issubclass(bassinet.registry.ImportRejected, bassinet.DataError)


def test_protocol_names() -> None:
    import bassinet.protocols

    assert sorted(bassinet.protocols.__all__) == sorted(
        [
            "MRD",
            "PROTOCOLS",
            "Course",
            "Criterion",
            "Decision",
            "PatientFacts",
            "TreatmentPlan",
            "get_protocol",
            "interfant06",
            "interfant99",
        ]
    )


def test_access_names() -> None:
    import bassinet.access

    assert sorted(bassinet.access.__all__) == [
        "AccessDenied",
        "Action",
        "Actor",
        "AuthenticationFailed",
        "Enrolment",
        "NewToken",
        "POLICY",
        "Permission",
        "Role",
        "ScopeKind",
        "SecurityEvent",
        "TokenSummary",
        "UserSummary",
        "add_user",
        "authenticate",
        "authenticate_token",
        "authorise",
        "create_token",
        "disable_user",
        "enable_user",
        "enrol_totp",
        "find_patient",
        "get_patient",
        "grant_role",
        "list_tokens",
        "list_users",
        "load_actor",
        "log_security_event",
        "parse_role",
        "permits",
        "read_security_log",
        "revoke_role",
        "revoke_token",
        "scope_patients",
        "set_full_name",
        "unlock_user",
    ]
    for name in bassinet.access.__all__:
        assert hasattr(bassinet.access, name), name
    assert issubclass(bassinet.access.AccessDenied, PermissionError)


def test_federate_names() -> None:
    import bassinet.federate

    assert sorted(bassinet.federate.__all__) == [
        "ANSWER",
        "AnalysisRows",
        "Disclosure",
        "FederatedPlan",
        "PooledAnalysis",
        "PooledEstimate",
        "PooledGroup",
        "PooledResult",
        "PooledTest",
        "RESULT",
        "ROUND",
        "SUMMARY",
        "analysis_rows",
        "answer_cox_round",
        "check_answers",
        "check_site_files",
        "combine",
        "fetch_summary",
        "load_federated_plan",
        "make_server",
        "merge_small_cells",
        "pool",
        "pooled_plan_result",
        "pooled_report",
        "read_message",
        "run_cox_over_http",
        "start_cox",
        "step_cox",
        "summarise",
        "write_message",
        "write_pooled_report",
    ]
    for name in bassinet.federate.__all__:
        assert hasattr(bassinet.federate, name), name


def test_exchange_names() -> None:
    assert sorted(bassinet.exchange.__all__) == [
        "Deidentified",
        "Dictionary",
        "ExportEntry",
        "FORMATS",
        "RedcapMapping",
        "Release",
        "bundles",
        "create_key",
        "date_shift",
        "deidentify",
        "export_registry",
        "fetch_redcap",
        "import_bundles",
        "import_redcap",
        "list_exports",
        "load_key",
        "load_redcap_mapping",
        "propose_mapping",
        "pseudonym",
        "read_bundles",
        "read_dictionary",
        "record_export",
        "write_bundles",
    ]


def test_application_names() -> None:
    """One module per group of use cases; the front ends call these and nothing deeper."""
    assert sorted(bassinet.application.__all__) == [
        "admin",
        "design",
        "exports",
        "local_operator",
        "protocol",
        "records",
        "reports",
    ]
