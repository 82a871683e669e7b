"""Training on the platform's model inputs in Python and registering the model through the client."""

from __future__ import annotations

from typing import Any, Dict

import numpy as np
import onnxmltools
import pytest
import xgboost
from onnxmltools.convert.common.data_types import FloatTensorType

from fti_client import FeatureStore
from fti_client.errors import BadRequestError, PermissionDeniedError


def test_model_inputs_train_in_python_and_import(fs: FeatureStore, platform: Dict[str, Any], keys: Dict[str, str]) -> None:
    view, dataset = platform["featureView"], platform["trainingDataset"]
    train = fs.get_training_data(view, dataset, split="train", transformed=True)
    names = train.attrs["feature_names"]
    # The platform's transformations, applied for Python: one-hot columns and a scaled score.
    assert {"plan=free", "plan=pro", "score", "age", "visits"} <= set(names)
    assert all(str(train[n].dtype) == "float64" for n in names)
    assert set(train["plan=free"].dropna()) <= {0.0, 1.0}
    assert abs(train["score"].mean()) < 0.5  # standard-scaled on this split
    assert train["age"].isna().sum() > 0  # a missing input stays missing (NaN), not 0
    assert str(train["ts"].dtype) == "datetime64[us, UTC]"
    raw = fs.get_training_data(view, dataset, split="train")
    assert list(train["customer_id"]) == list(raw["customer_id"])

    X = train[names].to_numpy(dtype=np.float32)
    y = train["churned"].astype(int).to_numpy()
    model = xgboost.XGBClassifier(n_estimators=10, max_depth=2, random_state=0).fit(X, y)
    onnx = onnxmltools.convert_xgboost(model, initial_types=[("float_input", FloatTensorType([None, len(names)]))])

    registrar = FeatureStore(platform["url"], api_key=keys["models"])
    name = f"{platform['model']}_py"
    result = registrar.import_model(
        onnx.SerializeToString(),
        name,
        view,
        dataset,
        framework="xgboost",
        framework_version=xgboost.__version__,
        tags={"team": "python"},
    )
    assert result["model"] == name and result["version"] == 1 and result["state"] == "registered"
    assert result["split"] == "test" and result["rows"] == platform["rowCounts"]["test"]
    assert 0.0 <= result["metrics"]["accuracy"] <= 1.0
    assert result["provenance"]["converter"] == "onnxmltools"
    assert result["provenance"]["framework"] == "xgboost"
    assert result["provenance"]["inputs"] == {"float_input": names}
    # The same file and options again: the same version.
    again = registrar.import_model(onnx.SerializeToString(), name, view, dataset, framework="xgboost", framework_version=xgboost.__version__, tags={"team": "python"})
    assert again["version"] == 1

    # A key without the `models` scope may read, not register.
    with pytest.raises(PermissionDeniedError):
        fs.import_model(onnx.SerializeToString(), name, view, dataset)
    # A model trained on other columns is refused, naming the mismatch; nothing is registered.
    narrow = xgboost.XGBClassifier(n_estimators=2, max_depth=2).fit(X[:, :2], y)
    wrong = onnxmltools.convert_xgboost(narrow, initial_types=[("float_input", FloatTensorType([None, 2]))])
    with pytest.raises(BadRequestError, match=r"takes 2 column\(s\) but is mapped to \d+ feature"):
        registrar.import_model(wrong.SerializeToString(), f"{name}_narrow", view, dataset)
