"""JSON Schemas of ``run.json`` and ``personas.json``, shipped with the package and checked on save and open."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema

from runs.errors import RunFolderError


@lru_cache(maxsize=None)
def load(name: str) -> dict[str, Any]:
    """The schema ``name`` (``"run"`` or ``"personas"``) from ``runs/schemas/``."""
    text = resources.files("runs").joinpath("schemas", f"{name}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def check(document: Any, name: str, where: str) -> None:
    """Raise :class:`runs.errors.RunFolderError` naming ``where`` and the first violation of schema ``name``."""
    validator = jsonschema.Draft202012Validator(load(name))
    error = next(iter(sorted(validator.iter_errors(document), key=lambda e: list(e.path))), None)
    if error is not None:
        at = "/".join(map(str, error.absolute_path)) or "(top level)"
        raise RunFolderError(f"{where} does not match the {name} schema at {at}: {error.message}. "
                        "Re-run the analysis.")
