"""Export: only approved mappings, with provenance, schema-valid JSON, escaped cells, atomic writes."""
from __future__ import annotations

import csv
import io
import json

import jsonschema
import pytest
from openpyxl import load_workbook

from tests.strategy.conftest import ANALYST, COMPLIANCE, MANAGER, MANAGER2
from strategy import audit
from strategy.escape import FORMULA_TRIGGERS
from strategy.export import ExportRefused, export_mappings, export_schema
from strategy.proposals import propose_strategies
from strategy.run_view import load_run_view
from strategy.settings import StrategySettings
from strategy.store import ReviewStore
from runs import RunFolderError, new_run_id
from tests.run_factory import save_fabricated_run

ALSO_ON_POSTGRESQL = True  # the store's behaviour on a real PostgreSQL server too (tests/conftest.py)

NASTY = ["=HYPERLINK(\"http://evil\",\"x\")", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR",
         "\x00NUL", "'=already escaped"]


@pytest.fixture
def kept_run(tmp_path, run):
    """The conftest run saved again with its portfolio, as runs keep it (account-level exports need it)."""
    from tests.strategy.conftest import make_portfolio

    folder = save_fabricated_run(tmp_path / "kept", run.run_id, run.profiles, run.accounts,
                                 portfolio=make_portfolio(), metrics=run.meta["metrics"], model=run.meta["model"])
    return load_run_view(folder.path)


def approve_all(store, run, portfolio, skip=()):
    for proposal in propose_strategies(run.profiles, run.accounts, portfolio):
        mapping = store.propose(ANALYST, run, proposal.persona_id, proposal.strategy,
                                evidence=proposal.evidence)
        if proposal.persona_id not in skip:
            store.approve(MANAGER, run, proposal.persona_id, expected_version=mapping.version,
                          portfolio=portfolio)
    store.sign_off_model(COMPLIANCE, run, "model card and fairness screens checked")


def text_cells_csv(content: bytes) -> list[str]:
    rows = csv.reader(io.StringIO(content.decode("utf-8"), newline=""))
    return [cell for row in rows for cell in row]


def text_cells_xlsx(content: bytes) -> list[str]:
    book = load_workbook(io.BytesIO(content), read_only=True)
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
             for c in row if isinstance(c, str)]
    book.close()
    return cells


def unescaped(cells: list[str]) -> list[str]:
    def number(text: str) -> bool:
        try:
            float(text)
            return True
        except ValueError:
            return False
    return [c for c in cells if c.startswith(FORMULA_TRIGGERS) and not number(c)]


def test_export_is_refused_until_every_mapping_in_scope_is_approved(store, run, portfolio_frame,
                                                                    tmp_path):
    approve_all(store, run, portfolio_frame, skip={2})
    out = tmp_path / "out.csv"
    with pytest.raises(ExportRefused) as err:
        export_mappings(store, run, MANAGER, fmt="csv", out=out)
    assert err.value.lines == ["persona 2 (Serial promise breakers) is proposed, not approved"]
    assert not out.exists() and list(tmp_path.glob("*.csv")) == []
    assert store.audit_entries(action="export_refused")[0].details["reasons"] == err.value.lines


def test_export_is_refused_while_the_kill_switch_is_on(store, run, portfolio_frame, tmp_path):
    approve_all(store, run, portfolio_frame)
    store.set_kill_switch(COMPLIANCE, True, "model under review")
    with pytest.raises(ExportRefused, match="kill switch .*model under review"):
        export_mappings(store, run, MANAGER, fmt="json", out=tmp_path / "out.json")
    store.set_kill_switch(COMPLIANCE, False)
    assert export_mappings(store, run, MANAGER, fmt="json", out=tmp_path / "out.json").rows == 4


def test_export_is_refused_when_a_guardrail_fails_at_export(store, run, portfolio_frame,
                                                          tmp_path):
    approve_all(store, run, portfolio_frame)
    stricter = ReviewStore(store.url, settings=StrategySettings(legal_escalation_min_balance_eur=5000))
    with pytest.raises(ExportRefused, match="persona 2 .*No legal escalation for small balances"):
        export_mappings(stricter, run, MANAGER, fmt="csv", out=tmp_path / "out.csv")


def test_json_export_validates_against_the_published_schema(store, kept_run, portfolio_frame, tmp_path):
    run = kept_run
    approve_all(store, run, portfolio_frame)
    for level in ("personas", "accounts"):
        result = export_mappings(store, run, MANAGER, fmt="json", level=level,
                                 out=tmp_path / f"{level}.json", portfolio=portfolio_frame)
        document = json.loads(result.path.read_text(encoding="utf-8"))
        jsonschema.validate(document, export_schema())
        assert document["provenance"]["run_id"] == run.run_id
        assert document["provenance"]["data_sha256"] == "ab" * 32
    assert len(document["accounts"]) == 400


def test_provenance_names_run_data_metrics_personas_and_audit_head(store, run, portfolio_frame,
                                                                   tmp_path):
    approve_all(store, run, portfolio_frame)
    head = store.audit_head()
    result = export_mappings(store, run, MANAGER, fmt="csv", out=tmp_path / "out.csv")
    sidecar = json.loads(result.provenance_path.read_text(encoding="utf-8"))
    assert result.provenance_path.name == "out.provenance.json"
    assert sidecar["csv_file_sha256"] == result.sha256
    assert (sidecar["audit_head_seq"], sidecar["audit_head_sha256"]) == head
    assert sidecar["model_metrics"]["stability_ari"] == 0.91
    assert [p["persona_id"] for p in sidecar["persona_definitions"]] == [0, 1, 2, 3]
    exported = store.export_history()[0]
    assert (exported.content_hash, exported.user) == (result.sha256, "bob")


def test_the_persona_file_has_approver_and_strategy_per_persona(store, run, portfolio_frame,
                                                              tmp_path):
    approve_all(store, run, portfolio_frame)
    result = export_mappings(store, run, MANAGER, fmt="csv", out=tmp_path / "out.csv")
    rows = list(csv.DictReader(io.StringIO(result.content.decode("utf-8"), newline="")))
    assert [r["persona_id"] for r in rows] == ["0", "1", "2", "3"]
    assert {r["approved_by"] for r in rows} == {"bob"}
    assert rows[1]["offer"] == "hardship_referral"


def test_xlsx_has_the_table_and_a_provenance_sheet(store, run, portfolio_frame, tmp_path):
    approve_all(store, run, portfolio_frame)
    result = export_mappings(store, run, MANAGER, fmt="xlsx", out=tmp_path / "out.xlsx")
    book = load_workbook(result.path, read_only=True)
    assert book.sheetnames == ["personas", "provenance", "persona_definitions"]
    provenance = {row[0]: row[1] if len(row) > 1 else None
                  for row in book["provenance"].iter_rows(min_row=2, values_only=True)}
    assert provenance["run_id"] == run.run_id and len(provenance["audit_head_sha256"]) == 64


def test_account_level_applies_overrides_and_per_account_guardrails(store, kept_run, portfolio_frame,
                                                                   tmp_path):
    run = kept_run
    approve_all(store, run, portfolio_frame)
    override = store.override_account(MANAGER, run, "A00001", persona_id=1, reason="job loss reported")
    store.approve_override(MANAGER2, run, override, "checked the letter")
    result = export_mappings(store, run, MANAGER, fmt="csv", level="accounts",
                             out=tmp_path / "acc.csv", portfolio=portfolio_frame)
    rows = {r["account_id"]: r for r in csv.DictReader(io.StringIO(result.content.decode()))}
    assert len(rows) + len(result.held) == 400
    assert (rows["A00001"]["persona_id"], rows["A00001"]["offer"]) == ("1", "hardship_referral")
    assert rows["A00001"]["override_reason"] == "job loss reported"
    opted_out = portfolio_frame.loc[portfolio_frame["sms_opt_out"], "account_id"]
    sms_persona = [a for a in opted_out if a.startswith("A0") and a != "A00001" and a in rows][0]
    assert rows[sms_persona]["channel"] == "letter"
    assert "objection to sms" in rows[sms_persona]["blocked_steps"]


def test_pii_is_absent_unless_explicitly_included(store, kept_run, portfolio_frame, tmp_path):
    run = kept_run
    approve_all(store, run, portfolio_frame)
    plain = export_mappings(store, run, MANAGER, fmt="csv", level="accounts",
                            out=tmp_path / "a.csv", portfolio=portfolio_frame)
    assert b"@example.org" not in plain.content and b"Person 0-" not in plain.content
    with_email = export_mappings(store, run, MANAGER, fmt="csv", level="accounts",
                                 out=tmp_path / "b.csv", portfolio=portfolio_frame,
                                 include_columns=["email"])
    assert b"p0.1@example.org" in with_email.content
    assert with_email.provenance["included_columns"] == ["email"]


def test_user_controlled_text_is_escaped_in_every_csv_and_xlsx_cell(store, run_dir, portfolio_frame,
                                                                    tmp_path):
    base = load_run_view(run_dir)
    profiles = [dict(p) for p in base.profiles]
    for profile, name in zip(profiles, NASTY):
        profile["name"] = name
    run = load_run_view(save_fabricated_run(tmp_path / "nasty", new_run_id(), profiles, base.accounts,
                                            portfolio=portfolio_frame).path)
    approve_all(store, run, portfolio_frame)
    store.override_account(MANAGER, run, "A00001", strategy=store.get_mapping(run, 0).strategy
                           .with_changes(rationale="@SUM(1)"), reason="=1+1")
    for fmt, cells in (("csv", text_cells_csv), ("xlsx", text_cells_xlsx)):
        for level in ("personas", "accounts"):
            result = export_mappings(store, run, MANAGER, fmt=fmt, level=level,
                                     out=tmp_path / f"x_{level}.{fmt}")
            found = cells(result.content)
            assert unescaped(found) == []
            assert "'=HYPERLINK(\"http://evil\",\"x\")" in found


def test_a_crash_before_commit_leaves_no_export_file(store, run, portfolio_frame, tmp_path,
                                                     monkeypatch):
    approve_all(store, run, portfolio_frame)

    def failing_append(*args, **kwargs):
        raise OSError("database went away")

    monkeypatch.setattr(audit, "append", failing_append)
    with pytest.raises(OSError):
        export_mappings(store, run, MANAGER, fmt="csv", out=tmp_path / "exports" / "out.csv")
    assert list((tmp_path / "exports").iterdir()) == []


def test_an_export_without_out_returns_bytes_and_is_still_audited(store, run, portfolio_frame):
    approve_all(store, run, portfolio_frame)
    result = export_mappings(store, MANAGER, run, fmt="xlsx")  # user and run in either order
    assert result.path is None and result.content.startswith(b"PK")
    assert store.export_history()[0].details["format"] == "xlsx"


def test_export_refuses_a_run_whose_personas_were_rewritten_after_approval(store, run_dir,
                                                                          portfolio_frame, tmp_path):
    run = load_run_view(run_dir)
    approve_all(store, run, portfolio_frame)
    profiles = json.loads((run_dir / "personas.json").read_text())
    profiles[3]["size"] = 101
    (run_dir / "personas.json").write_text(json.dumps(profiles))
    with pytest.raises(RunFolderError, match="personas.json: changed since the run was saved"):
        export_mappings(store, run_dir, MANAGER, fmt="json", out=tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()


def test_export_is_refused_after_the_persona_definition_changed_since_approval(store, run_dir,
                                                                             portfolio_frame,
                                                                             tmp_path):
    """Even a run re-saved under the same id with a valid signature (someone holding the key)."""
    run = load_run_view(run_dir)
    approve_all(store, run, portfolio_frame)
    profiles = [dict(p) for p in run.profiles]
    profiles[3]["size"] = 101
    resaved = save_fabricated_run(tmp_path / "resaved", run.run_id, profiles, run.accounts)
    with pytest.raises(ExportRefused, match="persona 3: the approval was voided"):
        export_mappings(store, resaved.path, MANAGER, fmt="json", out=tmp_path / "out.json")
    assert store.audit_entries(action="approval_voided")[0].persona_id == 3
