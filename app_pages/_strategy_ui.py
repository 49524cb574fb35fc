"""Widgets shared by the Strategies, Audit and Users pages.

Guardrail lines, the review actions (approve / reject / veto and lifting it), per-account
overrides with their second person, the review queue of held accounts, export, and one-shot
messages that survive ``st.rerun``. Review actions run as button callbacks whose arguments were
fixed when the button was drawn (the version number and version hash shown beside the button), so
an approval or rejection always applies to the version the reviewer saw; if someone changed the
mapping meanwhile the store refuses it ("changed by … reload") instead of approving what nobody
reviewed. What the widgets say and decide (texts, who may reject, the next persona) is in
``application.review_actions``.
"""
from __future__ import annotations

import streamlit as st

from app_pages._state import browser_time_zone, page_language, show_error
from app_pages._state import restore_language as _restore_language  # a callback runs before app.py sets it
from application import review_actions as texts
from application.review_actions import guardrail_lines, value_label  # noqa: F401  (imported by the pages)
from application.workspace_state import error_lines
from core.errors import UserError
from core.i18n import _
from strategy.catalogue import CHANNELS


def _moment(value) -> str:
    """A recorded time (ISO, UTC) to the minute in the reader's format and the browser's zone, zone named."""
    from core.formats import format_timestamp, time_zone

    return format_timestamp(value, page_language(), time_zone(browser_time_zone()), state_zone=True)


# ---------------------------------------------------------------- messages across a rerun
def flash(kind: str, text: str) -> None:
    """Queue a message (``success``, ``info``, ``warning``, ``error``) for the next run."""
    st.session_state.setdefault("_flash", []).append((kind, text))


def flash_error(err: UserError) -> None:
    flash("error", "\n\n".join(error_lines(err)))


def _acted(action) -> bool:
    """Run a review action in a button callback: the session's language first (a callback runs before
    ``app.py`` sets it), a refusal flashed as an error (``False``), else ``True``."""
    _restore_language()
    try:
        action()
    except UserError as err:
        flash_error(err)
        return False
    return True


def show_flash() -> None:
    """Show and forget the queued messages (as text: they quote names and reasons people typed)."""
    for kind, text in st.session_state.pop("_flash", []):
        getattr(st, kind)(texts.escaped_paragraphs(text))


# ---------------------------------------------------------------- review of one persona
def _approve(store, user, run, pid: int, version: int, version_hash: str | None,
             portfolio) -> None:
    if not _acted(lambda: store.approve(user, run, pid, expected_version=version, expected_hash=version_hash,
                                        portfolio=portfolio)):
        return
    flash("success", texts.approval_done_text(pid, user.username, version))
    nxt = texts.next_pending_persona(store.list_mappings(run), pid)
    if nxt is not None:
        st.session_state["review_persona"] = nxt


def _reject(store, user, run, pid: int, version: int) -> None:
    reason = st.session_state.get(f"reason_{pid}", "")
    if _acted(lambda: store.reject(user, run, pid, reason, expected_version=version)):
        st.session_state[f"reason_{pid}"] = ""
        flash("success", _("Persona {id} rejected; the analyst sees your reason.").format(id=pid))


def _lift_veto(store, user, run, pid: int) -> None:
    reason = st.session_state.get(f"lift_reason_{pid}", "")
    if _acted(lambda: store.lift_veto(user, run, pid, reason)):
        st.session_state[f"lift_reason_{pid}"] = ""
        flash("success", _("The veto on persona {id} is lifted; a manager may approve it again.").format(id=pid))


def veto_notice(store, user, run, mapping) -> None:
    """The standing compliance veto (if any); compliance may lift it with a reason."""
    veto = mapping.veto
    if veto is None or not veto.active:
        return
    st.error(texts.veto_text(veto, _moment(veto.vetoed_at)))
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
            st.success(texts.approved_text(mapping.approved_by, _moment(mapping.approved_at)))
        elif blockers:
            st.warning(texts.blockers_text(blockers))
        else:
            st.warning(_(texts.AUTOMATION_BIAS))
            st.caption(texts.approve_caption(version, mapping.version_hash))
            st.button(_("Approve"), type="primary", key=f"approve_{pid}", on_click=_approve,
                      args=(store, user, run, pid, version, mapping.version_hash, portfolio))
    if texts.may_reject(user.role, mapping.state):
        st.text_input(_("Reason for rejecting (required)"), key=f"reason_{pid}")
        st.button(texts.reject_label(user.role), key=f"reject_{pid}",
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
                               format_func=lambda p: texts.persona_option_label(run, p))
        channel = st.selectbox(_("Contact only by (optional)"), [None, *CHANNELS], key="override_channel",
                               format_func=texts.channel_option_label)
        reason = st.text_input(_("Reason (required)"), key="override_reason")
        if st.button(_("Record override"), key="override_button"):
            try:
                strategy = texts.override_strategy(store, run, account_id, persona, channel)
                override_id = store.override_account(user, run, account_id, reason=reason,
                                                     persona_id=persona, strategy=strategy)
            except UserError as err:
                show_error(err)
            else:
                st.success(texts.override_recorded_text(account_id, override_id))
    pending_overrides_section(store, user, run)


def _decide_override(store, user, run, override_id: int, approve: bool) -> None:
    reason = st.session_state.get(f"override_note_{override_id}", "")
    decide = store.approve_override if approve else store.decline_override
    if _acted(lambda: decide(user, run, override_id, reason)):
        flash("success", texts.override_decided_text(override_id, user.username, approve))


def pending_overrides_section(store, user, run) -> None:
    """Overrides waiting for a second person, with approve / decline for someone else."""
    pending = store.pending_overrides(run.run_id)
    st.markdown(_("**Account overrides waiting for a second person:** {n}").format(n=len(pending)))
    for o in pending.itertuples(index=False):
        st.markdown(texts.pending_override_line(o))
        if o.created_by == user.username:
            st.caption(_("You recorded it: a second person approves it. You may withdraw it."))
        note, approve, decline = st.columns([3, 1, 1])
        note.text_input(_("Note (required to decline)"), key=f"override_note_{o.id}")
        if o.created_by != user.username:
            approve.button(_("Approve override"), key=f"approve_override_{o.id}",
                           on_click=_decide_override, args=(store, user, run, int(o.id), True))
        decline.button(texts.decline_label(o.created_by == user.username),
                       key=f"decline_override_{o.id}", on_click=_decide_override,
                       args=(store, user, run, int(o.id), False))


# ---------------------------------------------------------------- the review queue
def _clear_account(store, user, run) -> None:
    account_id = (st.session_state.get("clear_account_id") or "").strip()
    reason = st.session_state.get("clear_account_reason", "")
    if not _acted(lambda: texts.clear_account(store, user, run, account_id, reason)):
        return
    st.session_state["clear_account_reason"] = ""
    flash("success", texts.cleared_text(account_id, user.username))


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
    held = texts.held_for_display(held)
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
    fmt = st.radio(_("Format"), list(texts.EXPORT_FORMATS), horizontal=True, key="export_format",
                   format_func=texts.EXPORT_FORMATS.get)
    level = st.radio(_("Level"), ["personas", "accounts"], horizontal=True, key="export_level",
                     format_func=texts.export_level_label)
    if st.button(_("Prepare export"), key="export_button"):
        st.session_state.pop("export_ready", None)
        try:
            result = export_mappings(store, run, user, fmt=fmt, level=level, portfolio=portfolio)
        except UserError as err:
            st.error(texts.export_refusal_text(error_lines(err)))
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
        st.warning(texts.held_back_text(len(held)))
    st.download_button(_("Download {file}").format(file=result.filename), result.content, file_name=result.filename,
                       mime=result.mime, type="primary", key="export_download")
    if result.provenance_content:
        st.download_button(_("Download its provenance (JSON)"), result.provenance_content,
                           file_name=texts.provenance_filename(result.filename),
                           mime="application/json", key="export_provenance")
