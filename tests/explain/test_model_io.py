"""The risk model on disk: no pickle, identical scores and SHAP values after loading, crafted files refused."""
from __future__ import annotations

import builtins
import io
import json
import pickle
import zipfile
from dataclasses import replace

import numpy as np
import pytest
import shap
import skops.io

from core.errors import UserError
from explain.features import event_vector
from explain.model import Calibrator
from explain.model_io import (CLASSIFIER, FILES, MODEL_JSON, TRUSTED_TYPES, ModelFileError, load_risk_model,
                              risk_model_files)
from explain.risk import RiskResult
from tests.explain.conftest import DirReader

PICKLE_OPCODES = (b"\x80",)  # every pickle of protocol 2 or later starts with PROTO


@pytest.fixture(scope="module")
def models(risk_5k, generator_portfolio):
    """The fitted model as it is, and with each kind of calibrator (fitted on its own log-odds)."""
    frame = generator_portfolio.frame
    event = event_vector(frame, "paid_90d", "paid")
    log_odds = risk_5k.model.log_odds(frame)
    base = replace(risk_5k.model, calibrator=None)
    return {"none": base,
            "isotonic": replace(base, calibrator=Calibrator("isotonic").fit(log_odds, event)),
            "sigmoid": replace(base, calibrator=Calibrator("sigmoid").fit(log_odds, event))}


def round_trip(model):
    files = risk_model_files(model)
    return load_risk_model(files.__getitem__)


def new_accounts(generator_portfolio, encoder):
    """Accounts scored afresh: shuffled, with unknown and missing levels of a categorical feature."""
    frame = generator_portfolio.frame.sample(300, random_state=1).reset_index(drop=True)
    column = encoder.categorical[0]
    frame[column] = frame[column].astype(object)
    frame.loc[:4, column] = "never seen before"
    frame.loc[5:9, column] = None
    return frame


@pytest.mark.parametrize("calibration", ["none", "isotonic", "sigmoid"])
def test_saved_risk_model_scores_new_accounts_identically(models, generator_portfolio, calibration):
    model = models[calibration]
    loaded = round_trip(model)
    frame = new_accounts(generator_portfolio, model.encoder)
    assert loaded.encoder == model.encoder and loaded.encoder.categorical  # categorical codes survive
    assert (loaded.calibrator is None) == (calibration == "none")
    np.testing.assert_array_equal(loaded.log_odds(frame), model.log_odds(frame))
    np.testing.assert_array_equal(loaded.risk_score(frame), model.risk_score(frame))


def test_saved_risk_result_scores_new_accounts_identically(risk_5k, generator_portfolio, tmp_path):
    risk_5k.save(tmp_path)
    loaded = RiskResult.load(DirReader(tmp_path))
    frame = new_accounts(generator_portfolio, risk_5k.model.encoder)
    before, after = risk_5k.score(frame), loaded.score(frame)
    np.testing.assert_array_equal(after["risk_score"].to_numpy(), before["risk_score"].to_numpy())
    assert after["reasons"].tolist() == before["reasons"].tolist()


def test_the_loaded_model_gives_the_same_shap_values(models, generator_portfolio):
    model = models["isotonic"]
    loaded = round_trip(model)
    X = model.matrix(generator_portfolio.frame.sample(500, random_state=3))
    original = np.asarray(shap.TreeExplainer(model.classifier).shap_values(X))
    again = np.asarray(shap.TreeExplainer(loaded.classifier).shap_values(X))
    np.testing.assert_allclose(again, original, rtol=0, atol=1e-9)


def test_no_file_of_a_saved_risk_result_is_a_pickle(risk_5k, tmp_path):
    risk_5k.save(tmp_path)
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert {"risk/model.json", "risk/classifier.skops"} <= {p.relative_to(tmp_path).as_posix() for p in files}
    for path in files:
        assert path.suffix not in (".pkl", ".pickle", ".joblib"), path
        assert not path.read_bytes().startswith(PICKLE_OPCODES), path
    with zipfile.ZipFile(tmp_path / CLASSIFIER) as archive:  # nor is anything inside the skops archive
        for member in archive.namelist():
            assert not archive.read(member).startswith(PICKLE_OPCODES), member
    json.loads((tmp_path / MODEL_JSON).read_text(encoding="utf-8"))


class _Payload:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return builtins.open, (self.marker, "w")


@pytest.mark.parametrize("replaced", [*FILES, "all"])
def test_a_crafted_pickle_in_place_of_the_model_executes_nothing(risk_5k, tmp_path, replaced):
    folder, marker = tmp_path / "run", tmp_path / "code-ran"
    risk_5k.save(folder)
    crafted = pickle.dumps(_Payload(marker))
    pickle.loads(pickle.dumps(_Payload(tmp_path / "live"))).close()  # the payload is live ...
    assert (tmp_path / "live").exists()
    for name in FILES if replaced == "all" else [replaced]:
        (folder / name).write_bytes(crafted)
    with pytest.raises(ModelFileError) as caught:
        RiskResult.load(DirReader(folder))
    assert isinstance(caught.value, UserError)
    assert (MODEL_JSON if replaced == "all" else replaced) in str(caught.value)
    assert not marker.exists()  # ... but loading the model never ran it


def test_the_trusted_types_are_exactly_what_skops_does_not_trust_by_default(models):
    data = risk_model_files(models["isotonic"])[CLASSIFIER]
    assert sorted(skops.io.get_untrusted_types(data=data)) == sorted(TRUSTED_TYPES)


def test_a_tree_pointing_outside_itself_is_refused(models):
    files = risk_model_files(models["none"])
    classifier = skops.io.loads(files[CLASSIFIER], trusted=TRUSTED_TYPES)
    nodes = classifier._predictors[0][0].nodes
    split = int(np.flatnonzero(nodes["is_leaf"] == 0)[0])
    nodes["right"][split] = len(nodes) + 1000
    files[CLASSIFIER] = skops.io.dumps(classifier)
    with pytest.raises(ModelFileError, match="classifier.skops.*outside its tree"):
        load_risk_model(files.__getitem__)


def test_a_model_from_another_scikit_learn_version_or_format_is_refused(models):
    files = risk_model_files(models["sigmoid"])
    description = json.loads(files[MODEL_JSON])
    for change, message in (({"scikit-learn": "0.1.0"}, "scikit-learn 0.1.0"), ({"format": 99}, "format")):
        files[MODEL_JSON] = json.dumps({**description, **change}).encode()
        with pytest.raises(ModelFileError, match=message):
            load_risk_model(files.__getitem__)


def test_a_calibrator_with_foreign_attributes_is_refused(models):
    files = risk_model_files(models["isotonic"])
    description = json.loads(files[MODEL_JSON])
    description["calibrator"]["state"]["__class__"] = "os.system"
    files[MODEL_JSON] = json.dumps(description).encode()
    with pytest.raises(ModelFileError, match="model.json"):
        load_risk_model(files.__getitem__)


def test_the_description_is_plain_json(models):
    description = json.load(io.BytesIO(risk_model_files(models["isotonic"])[MODEL_JSON]))
    assert set(description) == {"format", "scikit-learn", "encoder", "calibrator"}
    assert description["calibrator"]["method"] == "isotonic"
    assert description["encoder"]["features"] == models["isotonic"].encoder.features
