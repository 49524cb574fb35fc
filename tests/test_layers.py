"""The layers are plain in the imports (docs/architecture.md).

core <- runs <- domain packages (portfolio, personas, explain, strategy) <- application <- app.
A package imports only from its own layer or below; nothing is imported through importlib strings.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# What each package may import from this project (besides itself).
ALLOWED = {
    "core": set(),
    "runs": {"core"},
    "portfolio": {"core"},
    "personas": {"core", "portfolio"},
    "explain": {"core", "portfolio"},
    "strategy": {"core", "runs", "portfolio"},
    "application": {"core", "runs", "portfolio", "personas", "explain", "strategy", "sample_data"},
}
PROJECT = set(ALLOWED) | {"app_pages", "sample_data", "app", "benchmarks", "tests"}
ENTRY_POINTS = {REPO / "personas" / "__main__.py"}  # `python -m personas` hands over to the application


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_from_the_layers_below(package):
    wrong = []
    for path in sorted((REPO / package).rglob("*.py")):
        if path in ENTRY_POINTS:
            continue
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top == "streamlit" or (top in PROJECT and top != package and top not in ALLOWED[package]):
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    assert wrong == []


def test_nothing_is_imported_through_importlib_strings():
    offenders = []
    for package in list(ALLOWED) + ["app_pages"]:
        for path in sorted((REPO / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            if "import_module(" in text or "__import__(" in text:
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_no_run_folder_file_is_opened_outside_the_runs_package():
    """Run files are read only through runs.open_run, never by name elsewhere."""
    offenders = []
    for package in ("portfolio", "personas", "explain", "strategy", "application", "app_pages"):
        for path in sorted((REPO / package).rglob("*.py")):
            for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if ("read_parquet(" in line or "read_text(" in line or "json.load(" in line) and any(
                        name in line for name in ('"run.json"', '"personas.json"', '"accounts.parquet"',
                                                  '"edits.json"', "manifest.json")):
                    if "folder.read" not in line and ".read_json(" not in line:
                        offenders.append(f"{path.relative_to(REPO)}:{line_no}")
    assert offenders == []
