"""Widgets shared by the Strategies, Audit and Users pages.

Guardrail lines, the review actions (approve / reject / veto and lifting it), per-account
overrides with their second person, the review queue of held accounts, export, and one-shot
messages that survive ``st.rerun``. Review actions run as button callbacks whose arguments were
fixed when the button was drawn (the version number and version hash shown beside the button), so
an approval or rejection always applies to the version the reviewer saw; if someone changed the
mapping meanwhile the store refuses it ("changed by … reload") instead of approving what nobody
reviewed.
"""
from __future__ import annotations

import streamlit as st

from core.errors import UserError
from core.i18n import _
from core.text import defang_markdown, escape_markdown
from strategy.catalogue import CHANNELS, Strategy
from strategy.review_queue import override_change
from strategy.texts import TERMS, render


def value_label(value) -> str:
    """A strategy value or mapping state in the reader's words ("instalment_plan" -> "Ratenzahlung")."""
    return _(TERMS[value]) if isinstance(value, str) and value in TERMS else str(value)


def _restore_language() -> None:
    from app_pages._state import restore_language

    restore_language()


def _moment(value) -> str:
    """A recorded time (ISO, UTC) to the minute in the reader's format and the browser's zone, zone named."""
    from app_pages._state import browser_time_zone, page_language
    from core.formats import format_timestamp, time_zone

    return format_timestamp(value, page_language(), time_zone(browser_time_zone()), state_zone=True)


# ---------------------------------------------------------------- messages across a rerun
def flash(kind: str, text: str) -> None:
    """Queue a message (``success``, ``info``, ``warning``, ``error``) for the next run."""
    st.session_state.setdefault("_flash", []).append((kind, text))


def flash_error(err: UserError) -> None:
    flash("error", "\n\n".join(getattr(err, "lines", None) or [str(err)]))


def show_flash() -> None:
    """Show and forget the queued messages (as text: they quote names and reasons people typed)."""
    for kind, text in st.session_state.pop("_flash", []):
        getattr(st, kind)("\n\n".join(escape_markdown(part) for part in text.split("\n\n")))


# ---------------------------------------------------------------- review of one persona
def guardrail_lines(results) -> list[str]:
    """One Markdown line per guardrail: a tick or a cross, the message and its legal source."""
    lines = []
    for r in results:
        message = r.text() if hasattr(r, "text") else str(r.message)
        shown = r.source_text() if hasattr(r, "source_text") else r.source
        source = "" if not r.source or r.source in r.message or shown in message else \
            f" :gray[\\({defang_markdown(shown)}\\)]"
        lines.append(f"{'✅' if r.passed else '❌'} {defang_markdown(message)}{source}")
    return lines


def _next_pending(store, run, after: int) -> int | None:
    pending = [m.persona_id for m in store.list_mappings(run) if m.state == "proposed"]
    later = [p for p in pending if p > after]
    return (later or pending or [None])[0]


def _approve(store, user, run, pid: int, version: int, version_hash: str | None,
             portfolio) -> None:
    _restore_language()  # a callback runs before app.py sets the language
    try:
        store.approve(user, run, pid, expected_version=version, expected_hash=version_hash,
                      portfolio=portfolio)
    except UserError as err:
        flash_error(err)
        return
    flash("success", _("Persona {id} approved by {user} (version {version}).").format(
        id=pid, user=user.username, version=version))
    nxt = _next_pending(store, run, pid)
    if nxt is not None:
        st.session_state["review_persona"] = nxt


def _reject(store, user, run, pid: int, version: int) -> None:
    _restore_language()  # a callback runs before app.py sets the language
    reason = st.session_state.get(f"reason_{pid}", "")
    try:
        store.reject(user, run, pid, reason, expected_version=version)
    except UserError as err:
        flash_error(err)
        return
    st.session_state[f"reason_{pid}"] = ""
    flash("success", _("Persona {id} rejected; the analyst sees your reason.").format(id=pid))


def _lift_veto(store, user, run, pid: int) -> None:
    _restore_language()  # a callback runs before app.py sets the language
    reason = st.session_state.get(f"lift_reason_{pid}", "")
    try:
        store.lift_veto(user, run, pid, reason)
    except UserError as err:
        flash_error(err)
        return
    st.session_state[f"lift_reason_{pid}"] = ""
    flash("success", _("The veto on persona {id} is lifted; a manager may approve it again.").format(id=pid))


def veto_notice(store, user, run, mapping) -> None:
    """The standing compliance veto (if any); compliance may lift it with a reason."""
    veto = mapping.veto
    if veto is None or not veto.active:
        return
    st.error(_("Compliance veto by {user} at {time}: {reason}. It stands for every version of this persona's "
               "strategy until a compliance reviewer lifts it.").format(
        user=escape_markdown(veto.vetoed_by), time=_moment(veto.vetoed_at), reason=escape_markdown(veto.reason)))
    if user.role == "compliance":
        st.text_input(_("Reason for lifting the veto (required)"), key=f"lift_reason_{mapping.persona_id}")
        st.button(_("Lift veto"), key=f"lift_veto_{mapping.persona_id}", on_click=_lift_veto,
                  args=(store, user, run, mapping.persona_id))


def review_actions(store, user, run, mapping, portfolio) -> None:
    """Approve (managers) and reject / veto (managers, compliance) for the mapping shown."""
    pid, version = mapping.persona_id, mapping.version
    veto_notice(store, user, run, mapping)
    if user.role == "manager":
        blockers = mapping.approval_blockers(user)
        if mapping.state == "approved":
            st.success(_("Approved by {user} at {time}.").format(
                user=escape_markdown(mapping.approved_by), time=_moment(mapping.approved_at)))
        elif blockers:
            st.warning(_("Approval not possible: {reasons}").format(
                reasons="; ".join(escape_markdown(render(b)) for b in blockers)))
        else:
            st.warning(_("Automation bias: this strategy was proposed from data and a model. Check "
                         "the evidence and the guardrails yourself; approve only what you would "
                         "defend without the app. You can reject it, or override single accounts. "
                         "Approving the persona is not a review of each account: its accounts "
                         "that need review stay in the review queue until a person clears them."))
            st.caption(_("You approve version {version} · hash `{hash}` (what you see above; a version "
                         "changed meanwhile is refused).").format(version=version,
                                                                 hash=(mapping.version_hash or "")[:16]))
            st.button(_("Approve"), type="primary", key=f"approve_{pid}", on_click=_approve,
                      args=(store, user, run, pid, version, mapping.version_hash, portfolio))
    allowed = ("proposed", "approved") if user.role == "compliance" else ("proposed",)
    if mapping.state in allowed:
        st.text_input(_("Reason for rejecting (required)"), key=f"reason_{pid}")
        st.button(_("Reject") if user.role == "manager" else _("Veto (reject)"), key=f"reject_{pid}",
                  on_click=_reject, args=(store, user, run, pid, version))


# ---------------------------------------------------------------- overrides and export
def override_section(store, user, run) -> None:
    """Per-account override of persona and/or channel, with a required reason."""
    with st.expander(_("Override one account")):
        st.caption(_("Look the account up by its id. The override is recorded in the audit log and "
                     "counts (is applied in the account-level export) only once a second person "
                     "has approved it; until then the account is held back."))
        account_id = st.text_input(_("Account id"), key="override_account").strip()
        persona = st.selectbox(_("Move to persona (optional)"), [None, *run.persona_ids],
                               key="override_persona",
                               format_func=lambda p: _("keep its persona") if p is None else
                               f"{p} · {run.profile(p).get('name', '')}")
        channel = st.selectbox(_("Contact only by (optional)"), [None, *CHANNELS], key="override_channel",
                               format_func=lambda c: _("keep the persona's channel") if c is None else value_label(c))
        reason = st.text_input(_("Reason (required)"), key="override_reason")
        if st.button(_("Record override"), key="override_button"):
            try:
                strategy = None
                if channel is not None:
                    pid = persona if persona is not None else run.persona_of(account_id)
                    mapping = store.find_mapping(run, pid) if pid is not None else None
                    base = mapping.strategy if mapping is not None else Strategy()
                    strategy = base.with_changes(channel=channel)
                override_id = store.override_account(user, run, account_id, reason=reason,
                                                     persona_id=persona, strategy=strategy)
            except UserError as err:
                st.error("\n\n".join(escape_markdown(line)
                                      for line in getattr(err, "lines", None) or [str(err)]))
            else:
                st.success(_("Override for account {account} recorded (override {id}); it counts once a "
                             "second person approves it.").format(account=escape_markdown(account_id),
                                                                  id=override_id))
    pending_overrides_section(store, user, run)


def _decide_override(store, user, run, override_id: int, approve: bool) -> None:
    _restore_language()  # a callback runs before app.py sets the language
    reason = st.session_state.get(f"override_note_{override_id}", "")
    try:
        if approve:
            store.approve_override(user, run, override_id, reason)
        else:
            store.decline_override(user, run, override_id, reason)
    except UserError as err:
        flash_error(err)
        return
    flash("success", (_("Override {id} approved by {user}.") if approve else
                      _("Override {id} declined by {user}.")).format(id=override_id, user=user.username))


def pending_overrides_section(store, user, run) -> None:
    """Overrides waiting for a second person, with approve / decline for someone else."""
    pending = store.pending_overrides(run.run_id)
    st.markdown(_("**Account overrides waiting for a second person:** {n}").format(n=len(pending)))
    for o in pending.itertuples(index=False):
        st.markdown("- " + _("Override {id}: account {account} → {change}; by {user}: {reason}").format(
            id=o.id, account=escape_markdown(o.account_id), change=escape_markdown(render(override_change(o))),
            user=escape_markdown(o.created_by), reason=escape_markdown(o.reason)))
        if o.created_by == user.username:
            st.caption(_("You recorded it: a second person approves it. You may withdraw it."))
        note, approve, decline = st.columns([3, 1, 1])
        note.text_input(_("Note (required to decline)"), key=f"override_note_{o.id}")
        if o.created_by != user.username:
            approve.button(_("Approve override"), key=f"approve_override_{o.id}",
                           on_click=_decide_override, args=(store, user, run, int(o.id), True))
        decline.button(_("Decline") if o.created_by != user.username else _("Withdraw"),
                       key=f"decline_override_{o.id}", on_click=_decide_override,
                       args=(store, user, run, int(o.id), False))


# ---------------------------------------------------------------- the review queue
def _clear_account(store, user, run) -> None:
    _restore_language()  # a callback runs before app.py sets the language
    account_id = (st.session_state.get("clear_account_id") or "").strip()
    reason = st.session_state.get("clear_account_reason", "")
    try:
        if not account_id:
            raise UserError(_("choose an account of the queue to clear"))
        store.clear_account(user, run, account_id, reason)
    except UserError as err:
        flash_error(err)
        return
    st.session_state["clear_account_reason"] = ""
    flash("success", _("Account {account} cleared for export by {user}.").format(account=account_id,
                                                                                  user=user.username))


def review_queue_section(store, user, run, plan) -> None:
    """Accounts an account-level export holds back (needs review, override pending), and why;
    managers and compliance clear a needs_review account after looking at it."""
    from strategy.review_queue import held_accounts

    held = held_accounts(store, run.run_id, plan)
    st.subheader(_("Review queue"))
    st.caption(_("Approving a persona's strategy is not a review of each account (GDPR Art. 22). "
                 "These accounts are held back from the account-level export until a person has "
                 "looked at them: accounts that need review, and overrides waiting for a second "
                 "person."))
    if held.empty:
        st.info(_("No account is held back."))
        return
    held = held.assign(reason=held["reason"].map(render))  # the reasons in the reader's language
    st.dataframe(held, hide_index=True, width="stretch",
                 column_config={"account_id": _("Account id"), "reason": _("Why it is held")})
    if user.role not in ("manager", "compliance"):
        return
    with st.expander(_("Clear an account for export")):
        st.caption(_("Open the account in your collection system first. Clearing lets it go out "
                     "with the strategy it would receive now; a later change of that strategy "
                     "puts it back in the queue. Overrides are approved above, not here."))
        st.text_input(_("Account id (from the queue above, or as the export listed it)"),
                      key="clear_account_id")
        st.text_input(_("What you checked (required)"), key="clear_account_reason")
        st.button(_("Clear for export"), key="clear_account_button", on_click=_clear_account,
                  args=(store, user, run))



def export_section(store, user, run, portfolio) -> None:
    """Export approved mappings; refusals are shown with their reasons."""
    from strategy.export import export_mappings

    st.subheader(_("Export"))
    st.caption(_("Only approved mappings are exported, each with its approver and a provenance block "
                 "(run, data hash, model metrics, audit-log head). Text cells are protected against "
                 "formula injection."))
    fmt = st.radio(_("Format"), ["csv", "xlsx", "json"], horizontal=True, key="export_format",
                   format_func={"csv": "CSV", "xlsx": "Excel (XLSX)", "json": "JSON"}.get)
    level = st.radio(_("Level"), ["personas", "accounts"], horizontal=True, key="export_level",
                     format_func=lambda v: _("one row per persona") if v == "personas" else
                     _("one row per account (for the dialler / letter system)"))
    if st.button(_("Prepare export"), key="export_button"):
        st.session_state.pop("export_ready", None)
        try:
            result = export_mappings(store, run, user, fmt=fmt, level=level, portfolio=portfolio)
        except UserError as err:
            st.error(_("Export refused:") + "\n\n" + "\n\n".join(
                f"- {escape_markdown(line)}" for line in (getattr(err, "lines", None) or [str(err)])))
            return
        st.session_state["export_ready"] = result
    result = st.session_state.get("export_ready")
    if result is None or result.run_id != run.run_id:
        return
    if store.kill_switch().get("on"):  # prepared before the switch went on: not handed out
        st.session_state.pop("export_ready", None)
        return
    held = getattr(result, "held", ())
    if held:
        st.warning(_("{n} account(s) were held back from this file (needs review, or an override waiting for "
                     "its second person); the review queue lists them.").format(n=len(held)))
    st.download_button(_("Download {file}").format(file=result.filename), result.content, file_name=result.filename,
                       mime=result.mime, type="primary", key="export_download")
    if result.provenance_content:
        st.download_button(_("Download its provenance (JSON)"), result.provenance_content,
                           file_name=result.filename.rsplit(".", 1)[0] + ".provenance.json",
                           mime="application/json", key="export_provenance")
