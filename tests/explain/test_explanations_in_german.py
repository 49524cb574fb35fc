"""The risk model's explanations in German: model card, fairness warnings, chart titles, reasons.

The card, the warnings and the charts go through the message catalogue and core.formats, so a German
reader gets German headings and sentences with decimal commas ("0,812 (0,801–0,823)") and grouped
counts ("4.000"), while English stays as it was and the run's stored English texts stay readable.
"""
from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from core.i18n import translator, use_language
from explain import charts
from explain.fairness import FairnessReport, group_label, warning_texts
from explain.model_card import SECTIONS, card_language, model_card, section_titles
from explain.reasons import top_reasons

REPO = Path(__file__).resolve().parents[2]
CREATED = "2026-12-01T19:55:00Z"


def _sections(markdown: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", markdown, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts), 2)}


def _english_phrases(module: str) -> list[str]:
    """The literal English pieces (between placeholders, 12 characters or more) of every message the
    module marks for the catalogue, left out where the German translation keeps the same words."""
    from babel.messages.extract import extract_from_file

    german = translator("de")
    phrases = []
    for _line, message, _comments, _context in extract_from_file("python", str(REPO / module)):
        for text in message if isinstance(message, tuple) else (message,):
            translated = german._(text)
            for literal, *_rest in string.Formatter().parse(text):
                for piece in re.split(r"[`*]", literal):
                    piece = piece.strip(" .;:,()-")
                    if len(piece) >= 12 and piece not in translated:
                        phrases.append(piece)
    return phrases


@pytest.fixture(scope="module")
def german_card(planted_risk):
    return model_card(planted_risk, "de", created=CREATED)


def test_the_german_card_has_german_headings_in_the_same_order(german_card):
    sections = _sections(german_card)
    assert list(sections) == section_titles("de")
    assert list(sections)[:3] == ["Modellangaben", "Vorgesehene Verwendung", "Nicht vorgesehene Verwendungen"]
    assert not set(sections) & set(SECTIONS), "no English heading"
    assert german_card.startswith("# Modellkarte: Risiko, NICHT zu bezahlen (paid_90d)")
    for title, body in sections.items():
        assert len(body) > 80, title
    assert card_language(german_card) == "de"


def test_the_german_card_writes_german_numbers(planted_risk, german_card):
    metrics = _sections(german_card)["Kennzahlen"]
    auc = planted_risk.metrics["roc_auc"]
    line = next(row for row in metrics.splitlines() if row.startswith("| ROC-AUC |"))
    assert re.fullmatch(r"\| ROC-AUC \| 0,\d{3} \(0,\d{3}–0,\d{3}\) \|", line), line
    assert f"{auc['value']:.3f}".replace(".", ",") in line
    assert "4.000 Konten" in german_card, "counts grouped with a dot"
    assert "Erstellt am 01.12.2026 19:55 UTC" in german_card
    quantitative = _sections(german_card)["Quantitative Auswertungen"]
    assert re.search(r"\| \d+,\d %", quantitative), "rates as German percentages"
    assert "Adverse-Impact-Ratio 0," in quantitative


def test_the_german_card_holds_no_english_sentence_of_the_card(german_card):
    phrases = _english_phrases("explain/model_card.py") + _english_phrases("explain/fairness.py")
    assert len(phrases) > 150, "the card's own sentences are the list"
    found = [p for p in phrases if p in german_card]
    assert found == []
    for english in ("What a person reviews", "Automation bias", "out-of-fold", "fairness warning", "none present"):
        assert english not in german_card


def test_the_english_card_is_unchanged_by_the_context_language(planted_risk):
    english = model_card(planted_risk, "en", created=CREATED)
    with use_language("de"):
        assert model_card(planted_risk, created=CREATED) != english
        assert model_card(planted_risk, "en", created=CREATED) == english
    assert english.startswith("# Model card: risk of NOT paying (paid_90d)")
    assert "Created 2026-12-01 19:55 UTC" in english and card_language(english) == "en"
    assert "4,000 accounts" in english


def test_a_fairness_warning_in_german(planted_risk):
    report, settings = planted_risk.fairness, planted_risk.settings
    german = warning_texts(report, settings, "de")
    assert len(german) == len(report.warnings) > 0
    assert warning_texts(report, settings, "en") == report.warnings, "English: the stored texts"
    impact = next(w for w in german if "Adverse-Impact-Ratio" in w)
    assert impact.startswith("gender: Adverse-Impact-Ratio 0,")
    assert "kein Urteil" in impact and "flagged" not in impact
    assert not any("warning for review" in w or "high-risk" in w for w in german)


def test_warnings_are_stored_in_english_with_codes_and_render_after_a_round_trip(planted_risk):
    report = planted_risk.fairness
    stored = json.loads(json.dumps(report.to_json(), default=float))
    assert stored["warnings"] == report.warnings
    loaded = FairnessReport(report.groups, stored["attributes"], report.proxies, stored["cutoff"],
                            stored["cutoff_rule"], stored["warnings"])
    assert warning_texts(loaded, planted_risk.settings, "de") == warning_texts(report, planted_risk.settings, "de")
    old = [{k: v for k, v in s.items() if k != "warning_codes"} for s in stored["attributes"]]
    saved_before_codes = FairnessReport(report.groups, old, report.proxies, stored["cutoff"], stored["cutoff_rule"],
                                        stored["warnings"])
    assert warning_texts(saved_before_codes, planted_risk.settings, "de") == report.warnings


def test_the_app_made_group_labels_are_translated_and_data_values_kept():
    with use_language("de"):
        assert group_label("(missing)") == "(fehlt)"
        assert group_label("under 18") == "unter 18"
        assert group_label("0.5–3.25") == "0,5–3,25"
        assert group_label("60+") == "60+" and group_label("f") == "f"
    assert group_label("(missing)") == "(missing)"


def _built(risk):
    account = risk.scores["account_id"].iloc[3]
    return {"roc": charts.roc_chart(risk.roc_curve()), "pr": charts.pr_chart(risk.pr_curve(), risk.not_paid_rate),
            "calibration": charts.calibration_chart(risk.calibration_curve(), risk.curves["reliability_uncalibrated"]),
            "gains": charts.gains_chart(risk.gains()), "importance": charts.importance_chart(risk.global_importance()),
            "beeswarm": charts.beeswarm_chart(risk.beeswarm()),
            "waterfall": charts.waterfall_chart(risk.waterfall(account)),
            "fairness": charts.fairness_chart(risk.fairness.groups, "gender")}


def _titles(spec) -> list[str]:
    """Every chart title, axis title, legend title and tooltip title in a Vega-Lite spec."""
    found = []
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "title" and isinstance(value, str):
                found.append(value)
            elif key == "tooltip" and isinstance(value, list):
                found += [t.get("title") or t.get("field") for t in value if isinstance(t, dict)]
            else:
                found += _titles(value)
    elif isinstance(spec, list):
        for part in spec:
            found += _titles(part)
    return found


def test_chart_titles_axes_and_tooltips_in_german(planted_risk):
    with use_language("de"):
        german = {name: chart.to_dict() for name, chart in _built(planted_risk).items()}
    english = {name: chart.to_dict() for name, chart in _built(planted_risk).items()}
    assert german["roc"]["title"] == "ROC-Kurve" and english["roc"]["title"] == "ROC curve"
    assert german["importance"]["title"] == "Was den Risikowert insgesamt treibt"
    assert "Falsch-positiv-Rate (bezahlte Konten markiert)" in _titles(german["roc"])
    assert "Anteil als hohes Risiko markiert" in _titles(german["fairness"])
    waterfall = german["waterfall"]
    colour = waterfall["layer"][0]["encoding"]["color"]
    assert colour["scale"]["domain"] == ["erhöht das Risiko", "senkt das Risiko"]
    for name in german:
        titles = [t for t in _titles(german[name]) if t]
        assert titles, name
        for title in titles:
            assert not re.search(r"\b(rate|accounts|risk score|paid|value|Share|Mean)\b", title), (name, title)
        assert not any("_" in t for t in titles), (name, titles)  # no field name shown as a tooltip title


def test_german_charts_keep_their_height(planted_risk):
    with use_language("de"):
        german = _built(planted_risk)
    english = _built(planted_risk)
    for name in english:
        assert german[name].to_dict().get("height") == english[name].to_dict().get("height"), name


def test_reasons_use_the_catalogue_words(planted_risk):
    shap = planted_risk.shap
    account = shap.values.index[0]
    german = top_reasons(shap.values.loc[[account]], shap.feature_values.loc[[account]], "de")[0]
    words = translator("de")
    assert words._("raises risk") in german or words._("lowers risk") in german
    assert "risk" not in german.replace("Risiko", "")


def test_german_chart_numbers_use_decimal_commas_and_a_spaced_percent_sign(planted_risk):
    gains = charts.gains_chart(planted_risk.gains())
    german = charts.localised(gains, "de").to_dict()["config"]["locale"]["number"]
    assert german["decimal"] == "," and german["thousands"] == "." and german["percent"] == "\u00a0%"
    english = charts.localised(gains, "en").to_dict()["config"]["locale"]["number"]
    assert english["decimal"] == "." and "percent" not in english
    spec = gains.to_dict()
    assert spec["layer"][0]["encoding"]["y"]["axis"]["format"] == "%", "the axis format the locale fills in"


def test_the_german_data_section_lists_columns_and_excluded_rows_in_german_words(planted_risk):
    import copy

    risk = copy.copy(planted_risk)
    risk.data_summary = {
        "source_name": "export.csv", "rows": {"read": 4_012, "used": 4_000, "excluded": {"balance is empty": 12}},
        "columns": [{"name": "Offener Betrag", "column": "balance", "role": "balance", "meaning": None,
                     "reason": "matched German synonym"},
                    {"name": "gender", "column": "gender", "role": "sensitive", "meaning": "protected.sex",
                     "reason": "kept only for fairness audits"},
                    {"name": "paid_90d", "column": "paid_90d", "role": "target", "meaning": "outcome.paid",
                     "reason": ""}],
        "excluded_rows": [{"row": r, "column": "balance", "reason": "balance is empty"} for r in range(2, 14)],
        "generated_ids": False, "truth_col": None, "target": None,
        "currency": {"code": "EUR", "source": "column", "reason": "the currency column says EUR"}}
    data = _sections(model_card(risk, "de", created=CREATED))["Daten"]
    assert data.startswith("Bestand `export.csv`: 4.012 Zeilen gelesen, 4.000 verwendet, 12 ausgeschlossen.")
    assert "| Grund | Zeilen | Zeilennummern in der Datei |" in data and "| balance is empty | 12 | 2–13 |" in data
    assert "| Spalte | Rolle | Bedeutung | Begründung |" in data
    assert "| `Offener Betrag` (als `balance`) | offener Betrag |" in data
    assert "| `gender` | geschütztes Merkmal | geschützt: Geschlecht |" in data
    assert "| `paid_90d` | Zielgröße | Ergebnis: bezahlt | das Ergebnis, das das Modell lernt (--target)" in data
    english = _sections(model_card(risk, "en", created=CREATED))["Data"]
    assert "| `paid_90d` | target | outcome.paid | the outcome the model learns (--target); never an input |" in english
