"""The access policy: one table from role to actions, and the one check that applies it.

A grant gives a user a :class:`~bassinet.registry.models.Role` over a scope (a centre,
every centre of a study group, or the whole study). What each role may do is the one
table :data:`POLICY`; :func:`authorise` is the one place that reads it. Patient data are
reached only through :func:`bassinet.access.scope_patients`, which narrows a query to
the centres where the actor may do the action, so that a patient outside the actor's
scope is "not found", never "forbidden", and identifiers cannot be probed.

The rules are pure: this module reads no database. An :class:`Actor` is built from the
grants once (by :func:`bassinet.access.load_actor` or a token), with each study group
resolved to its centres at that moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from bassinet.errors import AccessDenied, DataError
from bassinet.registry.models import Centre, Role, ScopeKind


class Action(StrEnum):
    """Something a user may be allowed to do; the columns of :data:`POLICY`."""

    READ_PATIENTS = "read_patients"
    EDIT_PATIENTS = "edit_patients"
    IMPORT = "import"
    STRATIFY = "stratify"
    RANDOMISE = "randomise"
    EXPLAIN = "explain"
    VIEW_AUDIT = "view_audit"
    VIEW_BALANCE = "view_balance"
    RUN_REPORT = "run_report"
    EXPORT_DEIDENTIFIED = "export_deidentified"
    EXPORT_IDENTIFIED = "export_identified"
    MANAGE_USERS = "manage_users"
    RAISE_QUERY = "raise_query"
    ANSWER_QUERY = "answer_query"
    VERIFY_SOURCE = "verify_source"
    LOCK_RECORD = "lock_record"
    SIGN_RECORD = "sign_record"


A = Action

#: The policy: what each role may do within the scope of its grant. The administrator
#: manages accounts and sees no patient data unless also given another role.
POLICY: dict[Role, frozenset[Action]] = {
    Role.ADMINISTRATOR: frozenset({A.MANAGE_USERS}),
    Role.TRIAL_STATISTICIAN: frozenset(
        {A.READ_PATIENTS, A.VIEW_BALANCE, A.RUN_REPORT, A.EXPORT_DEIDENTIFIED}
    ),
    Role.DATA_MANAGER: frozenset(
        {A.READ_PATIENTS, A.EDIT_PATIENTS, A.IMPORT, A.VIEW_AUDIT, A.EXPORT_IDENTIFIED, A.ANSWER_QUERY}
    ),
    Role.CLINICIAN: frozenset({A.READ_PATIENTS, A.STRATIFY, A.RANDOMISE, A.EXPLAIN}),
    Role.MONITOR: frozenset({A.READ_PATIENTS, A.VIEW_AUDIT, A.RAISE_QUERY, A.VERIFY_SOURCE, A.LOCK_RECORD}),
    Role.INVESTIGATOR: frozenset({A.READ_PATIENTS, A.SIGN_RECORD}),
}

#: Actions that concern the whole study, not a centre's patients: only a grant over the
#: whole study gives them (an administrator of one centre manages no accounts).
STUDY_ACTIONS: frozenset[Action] = frozenset({A.MANAGE_USERS})

#: Roles that may only be granted over the whole study.
STUDY_ONLY_ROLES: frozenset[Role] = frozenset({Role.ADMINISTRATOR})

#: Roles that always need a second factor, whatever their scope.
SECOND_FACTOR_ROLES: frozenset[Role] = frozenset({Role.ADMINISTRATOR})


def parse_role(text: str) -> Role:
    """The role named ``text`` (``trial_statistician`` or ``trial-statistician``), else a DataError."""
    try:
        return Role(text.strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise DataError(f"unknown role {text!r}: choose one of {choices}") from None


def parse_action(text: str | Action) -> Action:
    """The action named ``text``, else a DataError listing the actions."""
    try:
        return Action(text)
    except ValueError:
        choices = ", ".join(a.value for a in Action)
        raise DataError(f"unknown action {text!r}: choose one of {choices}") from None


@dataclass(frozen=True)
class Permission:
    """What one grant gives: a role's actions over a set of centres (``None``: every centre)."""

    role: Role
    scope: ScopeKind
    scope_name: str
    centre_ids: frozenset[int] | None
    actions: frozenset[Action]

    def covers(self, centre_id: int) -> bool:
        return self.centre_ids is None or centre_id in self.centre_ids

    def describe(self) -> str:
        where = (
            "the whole study" if self.scope is ScopeKind.STUDY else f"{self.scope.value} {self.scope_name!r}"
        )
        return f"{self.role.value} over {where}"


@dataclass(frozen=True)
class Actor:
    """A signed-in user (or a token acting for one) with the permissions of their grants."""

    user_id: int
    username: str
    permissions: tuple[Permission, ...]
    token_id: int | None = None

    def centres_for(self, action: Action | str) -> frozenset[int] | None:
        """The centres where the actor may do ``action``: ``None`` means every centre."""
        wanted = parse_action(action)
        centres: set[int] = set()
        for permission in self.permissions:
            if wanted not in permission.actions:
                continue
            if permission.centre_ids is None:
                return None
            centres |= permission.centre_ids
        return frozenset(centres)

    @property
    def sees_more_than_one_centre(self) -> bool:
        """Whether some grant reaches more than one centre (a study group or the whole study count
        as many, since centres may join them later)."""
        centres: set[int] = set()
        for permission in self.permissions:
            if permission.scope is not ScopeKind.CENTRE or permission.centre_ids is None:
                return True
            centres |= permission.centre_ids
        return len(centres) > 1

    @property
    def needs_second_factor(self) -> bool:
        """TOTP is required for administrators and for everyone who sees more than one centre."""
        return self.sees_more_than_one_centre or any(p.role in SECOND_FACTOR_ROLES for p in self.permissions)


def _centre_id(centre: int | Centre | None) -> int | None:
    if centre is None or isinstance(centre, int):
        return centre
    return centre.id


def permits(actor: Actor, action: Action | str, centre: int | Centre | None = None) -> bool:
    """Whether :func:`authorise` would allow ``action`` (at ``centre``, if given)."""
    wanted = parse_action(action)
    centre_id = _centre_id(centre)
    for permission in actor.permissions:
        if wanted not in permission.actions:
            continue
        if wanted in STUDY_ACTIONS:
            if permission.scope is ScopeKind.STUDY:
                return True
            continue
        if centre_id is None or permission.covers(centre_id):
            return True
    return False


def authorise(actor: Actor, action: Action | str, centre: int | Centre | None = None) -> None:
    """Allow ``action`` or raise :class:`~bassinet.errors.AccessDenied`.

    Parameters
    ----------
    actor
        The acting user, with the permissions of their grants.
    action
        An :class:`Action` (or its name).
    centre
        The centre (or its id) the action concerns. Without it, the action is allowed if
        some grant allows it somewhere, and the caller must then narrow the data with
        :func:`bassinet.access.scope_patients`. Actions in :data:`STUDY_ACTIONS` need a
        grant over the whole study wherever they are asked for.

    Notes
    -----
    For a given patient, first look it up through the scoped query (outside the scope
    it is not found), then authorise the action at its centre: a monitor who can see a
    patient but not edit it is told "not allowed", a user who cannot see it learns
    nothing.
    """
    if not permits(actor, action, centre):
        wanted = parse_action(action)
        where = "" if centre is None else f" at centre {_centre_id(centre)}"
        raise AccessDenied(f"{actor.username} may not {wanted.value}{where}")


def narrow(
    permissions: Iterable[Permission], *, actions: Iterable[Action] | None, centre_ids: Iterable[int] | None
) -> tuple[Permission, ...]:
    """Permissions cut down to ``actions`` and ``centre_ids`` (``None``: no cut); never wider."""
    keep_actions = None if actions is None else frozenset(actions)
    keep_centres = None if centre_ids is None else frozenset(centre_ids)
    narrowed = []
    for p in permissions:
        acts = p.actions if keep_actions is None else p.actions & keep_actions
        if keep_centres is None:
            centres = p.centre_ids
        else:
            centres = keep_centres if p.centre_ids is None else p.centre_ids & keep_centres
        scope = p.scope
        if keep_centres is not None and scope is not ScopeKind.CENTRE:
            # Cut to named centres, a study or group grant no longer reaches new centres;
            # it is kept as its kind for display, but study-wide actions are dropped.
            acts = acts - STUDY_ACTIONS
        if acts and (centres is None or centres):
            narrowed.append(Permission(p.role, scope, p.scope_name, centres, acts))
    return tuple(narrowed)
