"""The speed benchmark's report states the host's speed beside its figures (hosts of one kind differ)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

from benchmarks.run import markdown

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "latest.json"


def test_the_report_puts_the_host_speed_beside_the_figures_and_says_when_it_was_not_measured():
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    measured = copy.deepcopy(results)
    measured["machine"]["speed"] = {"python_loop_s": 0.287, "matrix_product_s": 0.492, "random_reads_s": 0.265}
    measured["app"]["100000"]["host_speed_before"] = {"python_loop_s": 0.145, "matrix_product_s": 0.304,
                                                      "random_reads_s": 0.155}
    text = markdown(measured)
    assert "* 100,000 rows, app: Python loop 0.145, matrix products 0.304, random reads 0.155" in text
    assert "Python loop 0.287 s, ten 1,000² float32 matrix products 0.492 s, 5 million random reads from " \
           "400 MB 0.265 s" in text
    results["machine"].pop("speed", None)  # a run saved before the figures existed
    assert "Host speed: not measured." in markdown(results)


def test_the_report_gives_the_apps_verdict_and_names_pairs_told_apart_by_a_missing_value():
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    results["app"]["100000"].update(personas=9, confidence=0.9, settled=False, missing_cuts=[
        {"personas": [3, 7], "column": "best_response_hour", "missing_shares": [0.0, 0.61]}])
    results["app"]["5000"].update(personas=8, confidence=0.94, settled=True, missing_cuts=[])
    text = markdown(results)
    assert "* 100,000 rows: 9 personas, confidence 0.90, not settled; pairs told apart only by a missing value: " \
           "1 (3 and 7 by best_response_hour)" in text
    assert "* 5,000 rows: 8 personas, confidence 0.94, settled; pairs told apart only by a missing value: 0" in text
    for size in ("5000", "100000", "1000000"):  # a run saved before the verdict was recorded: no line
        results["app"].get(size, {}).pop("settled", None)
    assert "The app's verdict on its personas" not in markdown(results)
