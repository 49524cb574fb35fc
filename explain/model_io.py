"""The risk model on disk, without pickle: skops for the trees, plain JSON for everything else.

:func:`risk_model_files` turns a fitted :class:`~explain.model.RiskModel` into two files (names are
paths relative to the run folder):

* ``risk/model.json``: format version, the scikit-learn version, the feature encoder (its level
  lists) and the calibrator (method plus its fitted numbers; ``null`` when not calibrated);
* ``risk/classifier.skops``: the scikit-learn ``HistGradientBoostingClassifier`` in the skops
  format (a zip of JSON and ``.npy`` arrays read with ``allow_pickle=False``).

:func:`load_risk_model` reads them back through a ``read_bytes(name)`` callable (the run folder's
reader, which checks every file against the signed manifest). Nothing is unpickled and no code from
a file is run: skops only builds the types scikit-learn and numpy trust by default plus the one
listed in :data:`TRUSTED_TYPES`, and the JSON only ever sets a fixed list of attributes. As skops
itself warns, a crafted ``TreePredictor`` could hold out-of-range node indices that scikit-learn
follows without bounds checks, so every tree is checked (:func:`_check_classifier`) before the
model is used. Anything unexpected raises :class:`ModelFileError`, which names the file.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Protocol

import numpy as np

from core.errors import UserError
from core.i18n import N_, _
from explain.features import FeatureEncoder
from explain.model import Calibrator, RiskModel

MODEL_JSON = "risk/model.json"
CLASSIFIER = "risk/classifier.skops"
FILES = (MODEL_JSON, CLASSIFIER)
FORMAT = 1

# The types in classifier.skops that skops does not trust by default, from
# skops.io.get_untrusted_types(data=skops.io.dumps(fitted_classifier)) with scikit-learn 1.9.1 and
# skops 0.16.0. Only this app's own, signature-checked files are loaded, and the trees' node arrays
# are bounds-checked after loading (see the module docstring).
TRUSTED_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]

# The calibrators' fitted attributes (everything else in their state must be a constructor parameter).
_CALIBRATOR_FITTED = {
    "isotonic": ("increasing_", "X_min_", "X_max_", "X_thresholds_", "y_thresholds_"),
    "sigmoid": ("n_features_in_", "classes_", "n_iter_", "coef_", "intercept_"),
}
_DTYPES = ("float64", "int8", "int16", "int32", "int64", "bool")
_RERUN = N_("Re-run the analysis to fit the risk model again.")


class RunReader(Protocol):
    """What :meth:`explain.risk.RiskResult.load` reads a run through (``runs.folder.RunFolder`` is the
    real one); names are paths relative to the run folder, posix style."""

    def has(self, name: str) -> bool: ...
    def read_bytes(self, name: str) -> bytes: ...
    def read_text(self, name: str) -> str: ...
    def read_json(self, name: str) -> Any: ...
    def read_parquet(self, name: str) -> Any: ...


class ModelFileError(UserError):
    """A saved risk model file cannot be read as one (damaged, foreign, or from another version)."""


# ---------------------------------------------------------------------------- writing
def risk_model_files(model: RiskModel) -> dict[str, bytes]:
    """The files of ``model``: run-folder-relative name (under ``risk/``) -> bytes. No pickle."""
    import sklearn
    import skops.io

    description = {"format": FORMAT, "scikit-learn": sklearn.__version__,
                   "encoder": model.encoder.to_dict(),
                   "calibrator": _calibrator_to_dict(model.calibrator) if model.calibrator else None}
    return {MODEL_JSON: json.dumps(description, indent=1).encode("utf-8"),
            CLASSIFIER: skops.io.dumps(model.classifier)}


def _calibrator_to_dict(calibrator: Calibrator) -> dict[str, Any]:
    if calibrator.method not in _CALIBRATOR_FITTED:
        raise ValueError(f"unknown calibration method {calibrator.method!r}")
    state = {key: value for key, value in vars(calibrator.model).items() if key != "f_"}
    return {"method": calibrator.method, "state": {key: _encode(value) for key, value in state.items()}}


def _encode(value: Any) -> Any:
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        return {"dtype": str(array.dtype), "shape": list(array.shape), "values": array.ravel().tolist()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store {type(value).__name__} in the calibrator's JSON")


# ---------------------------------------------------------------------------- reading
def load_risk_model(read_bytes: Callable[[str], bytes]) -> RiskModel:
    """The :class:`RiskModel` saved by :func:`risk_model_files`; ``read_bytes(name)`` returns a file.

    Raises :class:`ModelFileError` (a :class:`~core.errors.UserError`) naming the file when a file is
    not a risk model this version of the app wrote; errors of ``read_bytes`` itself pass through.
    """
    description = _read_description(read_bytes(MODEL_JSON))
    encoder = _with_file(MODEL_JSON, lambda: _encoder(description["encoder"]))
    calibrator = _with_file(MODEL_JSON, lambda: _calibrator(description["calibrator"]))
    data = read_bytes(CLASSIFIER)
    classifier = _with_file(CLASSIFIER, lambda: _classifier(data))
    _with_file(CLASSIFIER, lambda: _check_classifier(classifier, encoder.features))
    return RiskModel(encoder, classifier, calibrator)


def _with_file(name: str, build: Callable[[], Any]) -> Any:
    try:
        return build()
    except UserError:
        raise
    except Exception as err:  # a crafted file can make any parser fail in any way
        raise ModelFileError(_("{file} is not a risk model saved by this app ({error}). {rerun}").format(
            file=name, error=f"{type(err).__name__}: {str(err)[:200]}", rerun=_(_RERUN))) from None


def _read_description(data: bytes) -> dict[str, Any]:
    import sklearn

    description = _with_file(MODEL_JSON, lambda: json.loads(data.decode("utf-8")))
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        raise ModelFileError(_("{file} is not a risk model description of this app's format (format {format}). "
                               "{rerun}").format(file=MODEL_JSON, format=FORMAT, rerun=_(_RERUN)))
    saved = description.get("scikit-learn")
    if saved != sklearn.__version__:
        raise ModelFileError(_("{file}: the risk model was saved with scikit-learn {saved}, this installation has "
                               "{installed}; its trees cannot be read reliably. {rerun}").format(
            file=MODEL_JSON, saved=saved, installed=sklearn.__version__, rerun=_(_RERUN)))
    return description


def _encoder(data: Any) -> FeatureEncoder:
    features, categories = data["features"], data["categories"]
    if not (isinstance(features, list) and features and all(isinstance(f, str) for f in features)):
        raise ValueError("features must be a non-empty list of column names")
    if len(set(features)) != len(features):
        raise ValueError("features repeat")
    if not isinstance(data["max_categories"], int) or isinstance(data["max_categories"], bool):
        raise ValueError("max_categories must be an integer")
    if not isinstance(categories, dict) or not set(categories) <= set(features):
        raise ValueError("categories must map model features to their levels")
    for levels in categories.values():
        if not (isinstance(levels, list) and all(isinstance(level, str) for level in levels)):
            raise ValueError("categorical levels must be lists of text")
    return FeatureEncoder.from_dict(data)


def _calibrator(data: Any) -> Calibrator | None:
    if data is None:
        return None
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression
    import sklearn

    method = data["method"]
    if method not in _CALIBRATOR_FITTED:
        raise ValueError(f"unknown calibration method {method!r}")
    model = IsotonicRegression() if method == "isotonic" else LogisticRegression()
    allowed = set(model.get_params()) | set(_CALIBRATOR_FITTED[method])
    state = data["state"]
    if not isinstance(state, dict) or not set(_CALIBRATOR_FITTED[method]) <= set(state) <= allowed:
        raise ValueError(f"unexpected {method} calibrator attributes")
    # The pickle protocol's public setter (no unpickling): IsotonicRegression rebuilds its
    # interpolation function from the thresholds here.
    model.__setstate__({**{key: _decode(value) for key, value in state.items()},
                        "_sklearn_version": sklearn.__version__})
    return Calibrator(method, model)


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get("dtype") not in _DTYPES:
            raise ValueError(f"unsupported array type {value.get('dtype')!r}")
        array = np.asarray(value["values"], dtype=value["dtype"]).reshape(tuple(value["shape"]))
        return array[()] if array.ndim == 0 else array
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"unexpected value of type {type(value).__name__}")


def _classifier(data: bytes) -> Any:
    import skops.io

    return skops.io.loads(data, trusted=TRUSTED_TYPES)


def _check_classifier(classifier: Any, features: list[str]) -> None:
    """The trees are a binary classifier on ``features``, with every node index in range.

    scikit-learn and shap walk ``left``/``right`` and read column ``feature_idx`` without bounds
    checks; children always come after their parent (the trees are stored depth-first), which
    also rules out loops.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    if type(classifier) is not HistGradientBoostingClassifier:
        raise ValueError(f"expected a HistGradientBoostingClassifier, found {type(classifier).__name__}")
    n_features = len(features)
    names = getattr(classifier, "feature_names_in_", None)
    if classifier.n_features_in_ != n_features or (names is not None and list(names) != features):
        raise ValueError("the classifier's features differ from the encoder's")
    if np.asarray(classifier.classes_).tolist() != [0, 1] or classifier.n_trees_per_iteration_ != 1:
        raise ValueError("not a binary classifier of the event NOT paid")
    baseline = classifier._baseline_prediction
    if not isinstance(baseline, np.ndarray) or baseline.shape != (1, 1) or baseline.dtype != np.float64:
        raise ValueError("unexpected baseline prediction")
    binned_categorical = np.asarray(classifier._bin_mapper.is_categorical_)
    if (classifier._preprocessor is not None or classifier.is_categorical_ is not None
            or binned_categorical.shape != (n_features,) or binned_categorical.any()):
        raise ValueError("native categorical splits are never used by this app")
    for iteration in classifier._predictors:
        if not (isinstance(iteration, list) and len(iteration) == 1):
            raise ValueError("expected one tree per boosting iteration")
        predictor = iteration[0]
        if type(predictor) is not TreePredictor:
            raise ValueError(f"expected a TreePredictor, found {type(predictor).__name__}")
        _check_nodes(predictor.nodes, n_features, PREDICTOR_RECORD_DTYPE)


def _check_nodes(nodes: Any, n_features: int, record_dtype: np.dtype) -> None:
    if not isinstance(nodes, np.ndarray) or nodes.dtype != record_dtype or nodes.ndim != 1 or not len(nodes):
        raise ValueError("a tree's node table has the wrong layout")
    split = nodes["is_leaf"] == 0
    position = np.arange(len(nodes))[split]
    for child in ("left", "right"):
        index = nodes[child][split].astype(np.int64)
        if np.any(index <= position) or np.any(index >= len(nodes)):
            raise ValueError("a tree's node points outside its tree")
    feature = nodes["feature_idx"][split]
    if np.any(feature < 0) or np.any(feature >= n_features):
        raise ValueError("a tree splits on a feature the model does not have")
    if np.any(nodes["is_categorical"] != 0):
        raise ValueError("native categorical splits are never used by this app")
