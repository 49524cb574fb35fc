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
