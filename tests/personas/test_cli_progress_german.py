"""`personas --language de run …`: the progress stages on stderr and the settings-search reason of the
summary in German; the same run's summary in English is the stored English sentence."""
from __future__ import annotations

import json
from pathlib import Path

from application.cli import main
from core.i18n import use_language

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "sample_portfolio.csv"


def test_a_german_cli_run_prints_progress_and_the_search_reason_in_german(tmp_path, capsys):
    out = tmp_path / "run"
    with use_language("en"):  # the CLI sets the language of this context; put it back afterwards
        code = main(["--language", "de", "run", str(SAMPLE), "--out", str(out), "--no-search",
                     "--max-fit-rows", "1500"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    stages = [line.split("] ", 1)[1] for line in captured.err.splitlines() if line.startswith("  [")]
    assert stages[0] == "Prüfung der Daten" and stages[-1] == "fertig"
    assert {"Merkmale", "Karte", "Profile", "Persona-Suche: HDBSCAN"} <= set(stages)
    assert not {"validation", "features", "map", "profiles", "done"} & set(stages)
    assert ("  Einstellungen: Einstellungssuche übersprungen (--no-search); Stabilität für die konfigurierte "
            "Einstellung gemessen") in captured.out.splitlines()

    search = json.loads((out / "run.json").read_text(encoding="utf-8"))["settings_search"]
    assert search["reason"] == ("settings search skipped (--no-search); stability measured for the configured "
                                "setting")  # run.json keeps the English sentence ...
    assert search["reason_message"] == {"message": search["reason"], "params": {}}  # ... and its message

    from application.cli_run import _summary
    from application.pipeline import load_run

    with use_language("en"):
        _summary(load_run(out), out, 1.0)
    assert ("  settings: settings search skipped (--no-search); stability measured for the configured setting"
            in capsys.readouterr().out.splitlines())
