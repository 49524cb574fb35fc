"""What a rulepack is: rules with their source and kind, a contact policy, and persona-level checks."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal

from core.errors import UserError

if TYPE_CHECKING:
    from strategy.catalogue import Strategy
    from strategy.context import PersonaContext
    from strategy.settings import StrategySettings

KINDS = ("law", "house_policy")
Kind = Literal["law", "house_policy"]


class RulePackError(UserError):
    """An unknown rulepack or a rule a rulepack does not define."""


@dataclass(frozen=True)
class RuleInfo:
    """One rule: its id, whether it is ``"law"`` or ``"house_policy"``, its source and a title.

    ``source`` names the statute (``"§ 31 Abs. 2 Satz 1 Nr. 4 BDSG"``) or, for house policy, why the
    house chose it; a rule that does not apply in a jurisdiction says so in its source.
    """

    rule_id: str
    kind: Kind
    source: str
    title: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"rule {self.rule_id}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")

    @property
    def kind_label(self) -> str:
        """``"law"`` or ``"house policy"``."""
        return self.kind.replace("_", " ")

    def citation(self) -> str:
        """``"§ 214 BGB; law"``: the source and the kind, as messages end (a :class:`~strategy.texts.Text`:
        German for a German reader)."""
        from strategy.texts import Term, Text

        return Text("{source}; {kind}", source=Text(self.source), kind=Term(self.kind_label))

    def title_text(self):
        """The rule's title in the reader's language at display (``render()``); English as a string."""
        from strategy.texts import Text

        return Text(self.title)

    def to_dict(self) -> dict[str, str]:
        return {"rule_id": self.rule_id, "kind": self.kind, "source": self.source, "title": self.title}


@dataclass(frozen=True)
class ContactPolicy:
    """When and how often a debtor may be contacted.

    Parameters
    ----------
    earliest_hour, latest_hour : int
        Contact window ``[earliest, latest)`` in the debtor's local hours.
    weekdays : tuple of str
        Days contact is allowed (``"mon"`` .. ``"sun"``).
    no_public_holidays : bool
        No contact on public holidays of ``holiday_country`` / ``subdivision``.
    holiday_country : str or None
        ISO country of the holiday calendar (``"DE"``); ``None``: no holiday calendar.
    subdivision : str or None
        Land whose own holidays count too (``"BY"``); ``None``: federal holidays only.
    max_contacts_per_week : int
        Contacts of any channel together in any 7 days.
    max_calls_per_7_days : int
        Call attempts in any 7 days.
    quiet_days_after_conversation : int
        Days without contact after a conversation with the debtor.
    whatsapp_needs_opt_in : bool
        WhatsApp only for debtors who opted in.
    """

    earliest_hour: int
    latest_hour: int
    weekdays: tuple[str, ...]
    no_public_holidays: bool
    holiday_country: str | None
    subdivision: str | None
    max_contacts_per_week: int
    max_calls_per_7_days: int
    quiet_days_after_conversation: int
    whatsapp_needs_opt_in: bool


#: A persona-level check: (strategy, persona facts, settings, pack) -> (passed, what was found).
CheckFunction = Callable[["Strategy", "PersonaContext", "StrategySettings", "RulePack"], tuple[bool, str]]


@dataclass(frozen=True)
class PersonaCheck:
    """A rule checked on a persona's strategy when it is proposed, reviewed and exported."""

    rule_id: str
    check: CheckFunction


@dataclass(frozen=True)
class RulePack:
    """The rules of one jurisdiction (and industry module).

    ``rules`` holds every rule with its source and kind (persona-level checks and the account-level
    rules applied at export); ``checks`` are the persona-level checks in the order they are shown;
    ``modules`` holds the pack's calculators (``"default_interest"``, ``"energy"``) where it has them.
    """

    name: str
    label: str
    rules: dict[str, RuleInfo]
    contact: ContactPolicy
    checks: tuple[PersonaCheck, ...] = ()
    modules: dict[str, Any] = field(default_factory=dict)

    def rule(self, rule_id: str) -> RuleInfo:
        """The rule ``rule_id``; a rule the pack does not define is a :class:`RulePackError`."""
        try:
            return self.rules[rule_id]
        except KeyError:
            raise RulePackError(f"the {self.label} rulepack ({self.name}) has no rule {rule_id!r}; its rules: "
                                f"{', '.join(sorted(self.rules))}") from None

    @property
    def check_ids(self) -> tuple[str, ...]:
        """Ids of the persona-level checks, in order."""
        return tuple(c.rule_id for c in self.checks)

    def law(self) -> list[RuleInfo]:
        """The rules that are law."""
        return [r for r in self.rules.values() if r.kind == "law"]

    def house_policy(self) -> list[RuleInfo]:
        """The rules that are house policy."""
        return [r for r in self.rules.values() if r.kind == "house_policy"]

    def to_dict(self) -> dict[str, Any]:
        """The pack as plain data (for a run's record and the export's provenance)."""
        return {"name": self.name, "label": self.label,
                "rules": [r.to_dict() for r in self.rules.values()],
                "contact": {k: (list(v) if isinstance(v, tuple) else v)
                            for k, v in self.contact.__dict__.items()}}
