"""A persona mapping as the pages see it, the approval hash, and the stale-save error."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.errors import UserError
from strategy.auth import User
from strategy.canonical import content_hash
from strategy.catalogue import Strategy
from strategy.guardrails import GuardrailResult, violations

if TYPE_CHECKING:
    from strategy.run_view import RunView

STATES = ("draft", "proposed", "approved", "rejected")


class StaleMappingError(UserError):
    """A save based on an outdated version; ``attempted`` holds the unsaved strategy."""

    def __init__(self, message: str, attempted: Strategy | None = None) -> None:
        super().__init__(message)
        self.attempted = attempted


@dataclass
class MappingView:
    """A mapping as the Strategies page shows it (strategy, state, people, guardrails)."""

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

    @property
    def guardrails_pass(self) -> bool:
        return not violations(self.guardrails)

    def approval_blockers(self, user: User | None) -> list[str]:
        """Why ``user`` may not approve this mapping now (empty list: they may)."""
        out = []
        if user is None or user.role != "manager":
            out.append("only a manager may approve")
        if self.state != "proposed":
            out.append(f"the mapping is {self.state}, not proposed")
        if user is not None and user.username in {self.proposed_by, self.last_edited_by}:
            out.append(f"{user.username} proposed or last edited this mapping (four-eyes principle)")
        out += [r.message for r in violations(self.guardrails)]
        return out


def approval_hash(run: "RunView", persona_id: int, strategy_hash: str) -> str:
    """SHA-256 binding an approval to the strategy content, the persona definition, the run and which
    accounts the run puts in which persona (so an export never sends accounts the manager did not see)."""
    return content_hash({"strategy_sha256": strategy_hash, "run_id": run.run_id,
                         "persona_definition": run.profile(persona_id),
                         "assignment_sha256": run.assignment_fingerprint()})
