"""A persona mapping as the pages and the CLI see it, the approval hash, vetoes and stale saves.

Every mapping carries a *version number* (bumped on every save) and a *version hash*: the
SHA-256 that an approval of it would bind (:func:`approval_hash`: strategy content, persona
definition, run id and which accounts are in the persona). A manager approves exactly the
version (or hash) they were shown; anything else is refused as stale.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.errors import UserError
from core.i18n import N_, persona_name
from strategy.auth import User
from strategy.canonical import content_hash
from strategy.catalogue import Strategy
from strategy.guardrails import GuardrailResult, violations
from strategy.texts import Term, Text

if TYPE_CHECKING:
    from strategy.run_view import RunView

STATES = ("draft", "proposed", "approved", "rejected")
#: Shortest prefix of a version hash accepted in place of the version number (48 bits).
HASH_PREFIX_MIN = 12
_HEX = re.compile(r"^[0-9a-f]+$")


class StaleMappingError(UserError):
    """A save based on an outdated version; ``attempted`` holds the unsaved strategy."""

    def __init__(self, message: str, attempted: Strategy | None = None) -> None:
        super().__init__(message)
        self.attempted = attempted


@dataclass(frozen=True)
class Veto:
    """A compliance veto of one persona's mapping; it stands until ``lifted_at`` is set."""

    id: int
    run_id: str
    persona_id: int
    strategy_sha256: str | None
    reason: str
    vetoed_by: str
    vetoed_at: str
    lifted_by: str | None = None
    lifted_at: str | None = None
    lift_reason: str | None = None
    scope: str | None = None  #: None or "mapping": the persona's strategy; "challenger": its experiments

    @property
    def active(self) -> bool:
        return self.lifted_at is None

    def statement(self) -> str:
        """``"compliance veto by carol at 2026-…: <reason>; it stands until compliance lifts it"``."""
        if not self.active:
            return Text(N_("compliance veto by {user} ({reason}) lifted by {lifter} at {time}: {why}"),
                        user=self.vetoed_by, reason=self.reason, lifter=self.lifted_by, time=self.lifted_at,
                        why=self.lift_reason)
        return Text(N_("compliance veto by {user} at {time}: {reason}; it stands until a compliance reviewer lifts "
                       "it, whatever version is proposed"), user=self.vetoed_by, time=self.vetoed_at,
                    reason=self.reason)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "strategy_sha256": self.strategy_sha256, "reason": self.reason,
                "vetoed_by": self.vetoed_by, "vetoed_at": self.vetoed_at, "active": self.active,
                "lifted_by": self.lifted_by, "lifted_at": self.lifted_at,
                "lift_reason": self.lift_reason, "scope": self.scope or "mapping"}


@dataclass
class MappingView:
    """A mapping as the Strategies page shows it (strategy, state, people, guardrails, veto).

    ``version_hash`` is what an approval of this version binds (see :func:`approval_hash`);
    ``None`` when the run no longer has the persona.
    """

    run_id: str
    persona_id: int
    persona_name: str
    state: str
    version: int
    strategy: Strategy
    strategy_version_id: int
    strategy_hash: str
    evidence: list[str]
    proposed_by: str | None
    last_edited_by: str | None
    approved_by: str | None
    approved_at: str | None
    approval_hash: str | None
    reason: str | None
    updated_by: str
    updated_at: str
    guardrails: list[GuardrailResult] = field(default_factory=list)
    approval_valid: bool | None = None
    version_hash: str | None = None
    veto: Veto | None = None

    @property
    def guardrails_pass(self) -> bool:
        return not violations(self.guardrails)

    def approval_blockers(self, user: User | None) -> list[str]:
        """Why ``user`` may not approve this mapping now (empty list: they may)."""
        out = []
        if user is None or user.role != "manager":
            out.append(Text(N_("only a manager may approve")))
        if self.state != "proposed":
            out.append(Text(N_("the mapping is {state}, not proposed"), state=Term(self.state)))
        if user is not None and user.username in {self.proposed_by, self.last_edited_by}:
            out.append(Text(N_("{user} proposed or last edited this mapping (four-eyes principle)"),
                            user=user.username))
        if self.veto is not None and self.veto.active:
            out.append(self.veto.statement())
        out += [r.message for r in violations(self.guardrails)]
        return out

    def matches_hash(self, given: str) -> bool:
        """Whether ``given`` (the full version hash or a prefix of at least
        :data:`HASH_PREFIX_MIN` hex digits) names this version; :class:`UserError` if malformed."""
        prefix = checked_hash_prefix(given)
        return self.version_hash is not None and self.version_hash.startswith(prefix)


def check_reviewed(view: Any, expected_version: int | None, expected_hash: str | None, *,
                   subject: str, thing: str) -> None:
    """Refuse an approval unless the approver names the version of ``view`` they reviewed (its number or
    a prefix of its hash): one rule for a persona's strategy and for its challenger experiment.

    ``view`` has ``version``, ``version_hash``, ``updated_by`` and ``updated_at``; ``subject`` names what
    is approved ("persona 3", "the challenger of persona 3"), ``thing`` what holds the versions ("the
    mapping", "the experiment")."""
    current = Text(N_("version {version} (hash {hash}, last changed by {user} at {time})"), version=view.version,
                   hash=(view.version_hash or "")[:16], user=view.updated_by, time=view.updated_at)
    subject, thing = _words(subject), _words(thing)
    if expected_version is None and expected_hash is None:
        raise UserError(Text(N_("approval of {subject} refused: say which version you reviewed; {thing} is at "
                                "{current}"), subject=subject, thing=thing, current=current))
    if expected_version is not None and int(expected_version) != view.version:
        raise StaleMappingError(Text(
            N_("approval of {subject} refused: you reviewed version {expected}, but {thing} was changed by {user} at "
               "{time} and is now at {current}; reload it, review version {version} and approve that"),
            subject=subject, expected=expected_version, thing=thing, user=view.updated_by, time=view.updated_at,
            current=current, version=view.version))
    if expected_hash is not None:
        prefix = checked_hash_prefix(expected_hash)
        if not (view.version_hash or "").startswith(prefix):
            raise StaleMappingError(Text(
                N_("approval of {subject} refused: hash {prefix} is not the current content; {thing} is at "
                   "{current}; reload it, review it and approve that"),
                subject=subject, prefix=prefix[:16], thing=thing, current=current))


def _words(text: Any) -> Any:
    """"persona 3", "the mapping" ... as texts of the reader's language (a text already is one)."""
    if hasattr(text, "render"):
        return text
    match = re.fullmatch(r"persona (\d+)", str(text))
    if match:
        return Text(N_("persona {id}"), id=int(match.group(1)))
    match = re.fullmatch(r"the challenger of persona (\d+)", str(text))
    if match:
        return Text(N_("the challenger of persona {id}"), id=int(match.group(1)))
    return Text(THINGS[str(text)]) if str(text) in THINGS else text


#: What holds the versions, in words (``check_reviewed``'s ``thing``).
THINGS = {"the mapping": N_("the mapping"), "the experiment": N_("the experiment")}


def checked_hash_prefix(given: str) -> str:
    """``given`` lower-cased; :class:`UserError` unless it is 12 to 64 hex digits."""
    prefix = str(given or "").strip().lower()
    if not (HASH_PREFIX_MIN <= len(prefix) <= 64 and _HEX.match(prefix)):
        raise UserError(f"a version hash is {HASH_PREFIX_MIN} to 64 hex digits as `review show` "
                        f"prints it, not {given!r}")
    return prefix


def approval_hash(run: "RunView", persona_id: int, strategy_hash: str) -> str:
    """SHA-256 binding an approval to the strategy content, the persona definition, the run and which
    accounts the run puts in which persona (so an export never sends accounts the manager did not see)."""
    return content_hash({"strategy_sha256": strategy_hash, "run_id": run.run_id,
                         "persona_definition": run.profile(persona_id),
                         "assignment_sha256": run.assignment_fingerprint()})


def review_record(run: "RunView", mapping: MappingView | None, persona_id: int) -> dict[str, Any]:
    """What a reviewer judges for one persona, as plain data (``review list --json``).

    Shares are fractions 0..1 of the run's accounts and of its total balance (``None`` when the
    profile does not say); ``hash`` is the version hash to quote when approving.
    """
    profile = run.profile(persona_id)
    record: dict[str, Any] = {
        "persona_id": int(persona_id), "persona_name": persona_name(profile),
        "accounts": profile.get("size"), "share_accounts": _share(profile.get("share_accounts")),
        "share_balance": _share(profile.get("share_balance")),
        "needs_review_accounts": profile.get("needs_review_count"),
        "state": "none", "version": 0, "hash": None}
    if mapping is None:
        return record
    record.update(
        state=mapping.state, version=mapping.version, hash=mapping.version_hash,
        strategy_sha256=mapping.strategy_hash, strategy=mapping.strategy.to_dict(),
        evidence=list(mapping.evidence), guardrails=[g.to_dict() for g in mapping.guardrails],
        guardrails_pass=mapping.guardrails_pass, proposed_by=mapping.proposed_by,
        last_edited_by=mapping.last_edited_by, approved_by=mapping.approved_by,
        approved_at=mapping.approved_at, approval_sha256=mapping.approval_hash,
        approval_valid=mapping.approval_valid, reason=mapping.reason,
        updated_by=mapping.updated_by, updated_at=mapping.updated_at,
        veto=mapping.veto.to_dict() if mapping.veto is not None else None)
    return record


def _share(value: Any) -> float | None:
    try:
        share = float(value)
    except (TypeError, ValueError):
        return None
    return None if share != share else share
