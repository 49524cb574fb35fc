"""The texts and decisions of the review widgets (Strategies, Audit and Users pages), without Streamlit.

``app_pages/_strategy_ui.py`` draws the buttons and runs the callbacks; what they show and decide is
here so it can be tested on plain objects: how a guardrail, a role, a veto or a waiting override is
written for the reader, which persona the reviewer sees after an approval, who may reject what, and
which strategy an account override records. Texts are written in the current language
(``core.i18n``), so a caller in a widget callback restores the session's language first.
"""
from __future__ import annotations

from typing import Any, Iterable

import pandas as pd

from core.i18n import N_, _
from core.text import defang_markdown, escape_markdown
from strategy.catalogue import Strategy
from strategy.review_queue import override_change
from strategy.texts import TERMS, render

#: Shown to a manager above the Approve button (the app does not decide for them).
AUTOMATION_BIAS = N_("Automation bias: this strategy was proposed from data and a model. Check "
                     "the evidence and the guardrails yourself; approve only what you would "
                     "defend without the app. You can reject it, or override single accounts. "
                     "Approving the persona is not a review of each account: its accounts "
                     "that need review stay in the review queue until a person clears them.")
#: The export formats offered, with their names on the page.
EXPORT_FORMATS = {"csv": "CSV", "xlsx": "Excel (XLSX)", "json": "JSON"}
_ROLES = {"analyst": N_("analyst"), "manager": N_("manager"),
          "compliance": N_("compliance reviewer"), "admin": N_("administrator")}


def value_label(value: Any) -> str:
    """A strategy value or mapping state in the reader's words ("instalment_plan" -> "Ratenzahlung")."""
    return _(TERMS[value]) if isinstance(value, str) and value in TERMS else str(value)


def role_label(role: str) -> str:
    """A role as the reader's language names it ("compliance" -> "Compliance-Prüfer·in" …)."""
    return _(_ROLES[role]) if role in _ROLES else role


def access_refusal(user: Any, roles: tuple[str, ...]) -> tuple[str, str] | None:
    """Why a page meant for ``roles`` is not shown to ``user``, as ``(kind, text)`` (``kind``: the alert,
    ``warning`` or ``error``); ``None`` when it is (any role without ``roles``; an admin always)."""
    if user is None:
        return "warning", _("Please sign in first.")
    if not roles or user.role in roles or user.role == "admin":
        return None
    return "error", _("This action needs the role {roles}; you are signed in as {role}.").format(
        roles=_(" or ").join(role_label(r) for r in roles), role=role_label(user.role))


def guardrail_lines(results: Iterable[Any]) -> list[str]:
    """One Markdown line per guardrail: a tick or a cross, the message and its legal source (left out
    when the message already names it)."""
    lines = []
    for r in results:
        message = r.text() if hasattr(r, "text") else str(r.message)
        shown = r.source_text() if hasattr(r, "source_text") else r.source
        source = "" if not r.source or r.source in r.message or shown in message else \
            f" :gray[\\({defang_markdown(shown)}\\)]"
        lines.append(f"{'✅' if r.passed else '❌'} {defang_markdown(message)}{source}")
    return lines


def next_pending_persona(mappings: Iterable[Any], after: int) -> int | None:
    """The persona a reviewer sees after approving persona ``after``: the next one still proposed,
    else the first one still proposed, else ``None`` (nothing left to review)."""
    pending = [m.persona_id for m in mappings if m.state == "proposed"]
    later = [p for p in pending if p > after]
    return (later or pending or [None])[0]


def veto_text(veto: Any, moment: str) -> str:
    """The standing compliance veto, as the page says it (``moment``: when, already formatted)."""
    return _("Compliance veto by {user} at {time}: {reason}. It stands for every version of this persona's "
             "strategy until a compliance reviewer lifts it.").format(
        user=escape_markdown(veto.vetoed_by), time=moment, reason=escape_markdown(veto.reason))


def blockers_text(blockers: Iterable[Any]) -> str:
    """Why a manager may not approve now, in one line."""
    return _("Approval not possible: {reasons}").format(
        reasons="; ".join(escape_markdown(render(b)) for b in blockers))


def approve_caption(version: int, version_hash: str | None) -> str:
    """What exactly an approval applies to (a version changed meanwhile is refused by the store)."""
    return _("You approve version {version} · hash `{hash}` (what you see above; a version "
             "changed meanwhile is refused).").format(version=version, hash=(version_hash or "")[:16])


def may_reject(role: str, state: str) -> bool:
    """Whether a reviewer with ``role`` is offered Reject for a mapping in ``state``: managers reject a
    proposal; compliance may also veto an approved mapping."""
    return state in (("proposed", "approved") if role == "compliance" else ("proposed",))


def reject_label(role: str) -> str:
    """A manager rejects; a compliance reviewer's rejection is a veto."""
    return _("Reject") if role == "manager" else _("Veto (reject)")


def override_strategy(store: Any, run: Any, account_id: str, persona: int | None,
                      channel: str | None) -> Strategy | None:
    """The strategy an account override records: ``None`` when it keeps the channel, else the target
    persona's strategy (the account's own persona when it keeps that) with the channel changed."""
    if channel is None:
        return None
    pid = persona if persona is not None else run.persona_of(account_id)
    mapping = store.find_mapping(run, pid) if pid is not None else None
    base = mapping.strategy if mapping is not None else Strategy()
    return base.with_changes(channel=channel)


def pending_override_line(override: Any) -> str:
    """One waiting override (a row of ``store.pending_overrides``) as a Markdown list item."""
    return "- " + _("Override {id}: account {account} → {change}; by {user}: {reason}").format(
        id=override.id, account=escape_markdown(override.account_id),
        change=escape_markdown(render(override_change(override))),
        user=escape_markdown(override.created_by), reason=escape_markdown(override.reason))


def override_decided_text(override_id: int, username: str, approve: bool) -> str:
    """The message after a second person approved or declined an override."""
    return (_("Override {id} approved by {user}.") if approve else
            _("Override {id} declined by {user}.")).format(id=override_id, user=username)


def held_for_display(held: pd.DataFrame) -> pd.DataFrame:
    """The review queue with its reasons in the reader's language."""
    return held.assign(reason=held["reason"].map(render))


def export_level_label(level: str) -> str:
    """What an export level gives, in the reader's words."""
    return _("one row per persona") if level == "personas" else \
        _("one row per account (for the dialler / letter system)")


def export_refusal_text(lines: Iterable[str]) -> str:
    """Why an export was refused, one list item per reason."""
    return _("Export refused:") + "\n\n" + "\n\n".join(f"- {escape_markdown(line)}" for line in lines)


def clear_account(store: Any, user: Any, run: Any, account_id: str, reason: str) -> None:
    """Clear one held account for export (``store.clear_account``); without an account id the reviewer
    is asked to choose one instead of the store being asked about an empty id."""
    from core.errors import UserError

    if not account_id:
        raise UserError(_("choose an account of the queue to clear"))
    store.clear_account(user, run, account_id, reason)


def persona_option_label(run: Any, persona: int | None) -> str:
    """A choice of the override's persona box: keep the account's persona, or ``id · name``."""
    return _("keep its persona") if persona is None else f"{persona} · {run.profile(persona).get('name', '')}"


def channel_option_label(channel: str | None) -> str:
    """A choice of the override's channel box: keep the persona's channel, or the channel's name."""
    return _("keep the persona's channel") if channel is None else value_label(channel)


def override_recorded_text(account_id: str, override_id: int) -> str:
    """The message after an override was recorded (it waits for a second person)."""
    return _("Override for account {account} recorded (override {id}); it counts once a "
             "second person approves it.").format(account=escape_markdown(account_id), id=override_id)


def held_back_text(n: int) -> str:
    """The warning beside an account-level export file that left accounts out."""
    return _("{n} account(s) were held back from this file (needs review, or an override waiting for "
             "its second person); the review queue lists them.").format(n=n)


def provenance_filename(filename: str) -> str:
    """The provenance file's name beside an export file (``plan.csv`` -> ``plan.provenance.json``)."""
    return filename.rsplit(".", 1)[0] + ".provenance.json"


def approved_text(approved_by: str, moment: str) -> str:
    """Who approved the mapping and when (``moment``: already formatted for the reader)."""
    return _("Approved by {user} at {time}.").format(user=escape_markdown(approved_by), time=moment)


def decline_label(own: bool) -> str:
    """Whoever recorded an override withdraws it; anyone else declines it."""
    return _("Withdraw") if own else _("Decline")


def escaped_paragraphs(text: str) -> str:
    """A queued message shown as text (it quotes names and reasons people typed), paragraph by paragraph."""
    return "\n\n".join(escape_markdown(part) for part in text.split("\n\n"))


def approval_done_text(persona_id: int, username: str, version: int) -> str:
    """The message after an approval, naming the version approved."""
    return _("Persona {id} approved by {user} (version {version}).").format(
        id=persona_id, user=username, version=version)


def cleared_text(account_id: str, username: str) -> str:
    """The message after a held account was cleared for export."""
    return _("Account {account} cleared for export by {user}.").format(account=account_id, user=username)
