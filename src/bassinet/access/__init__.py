"""Who may do what: accounts, second factor, grants of roles over scopes, tokens, security log.

The policy is one table, :data:`POLICY` (role -> actions); :func:`authorise` is the one
check of an action and :func:`scope_patients` the one filter of patient queries, so that a
patient outside the actor's scope is not found rather than forbidden.
"""

from bassinet.access.accounts import (
    Enrolment,
    UserSummary,
    add_user,
    authenticate,
    disable_user,
    enable_user,
    enrol_totp,
    grant_role,
    list_users,
    load_actor,
    revoke_role,
    set_full_name,
    unlock_user,
)
from bassinet.access.policy import POLICY, Action, Actor, Permission, authorise, parse_role, permits
from bassinet.access.scope import find_patient, get_patient, scope_patients
from bassinet.access.security_log import SecurityEvent, log_security_event, read_security_log
from bassinet.access.tokens import (
    NewToken,
    TokenSummary,
    authenticate_token,
    create_token,
    list_tokens,
    revoke_token,
)
from bassinet.errors import AccessDenied, AuthenticationFailed
from bassinet.registry.models import Role, ScopeKind

__all__ = [
    "POLICY",
    "AccessDenied",
    "Action",
    "Actor",
    "AuthenticationFailed",
    "Enrolment",
    "NewToken",
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
