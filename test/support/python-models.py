"""Trains models in Python on a training dataset exported by the platform and converts them to ONNX
the way a Python team would (skl2onnx with its default ZipMap output, onnxmltools for XGBoost).

Usage: python-models.py DIR
  DIR/train.json, DIR/test.json: {"featureNames": [...], "X": [[...], ...], "y": [0/1, ...]}
Writes DIR/<name>.onnx and DIR/<name>.proba.json (predict_proba on the test rows, float32 inputs as
the ONNX models take them) for name in logreg, gbm, xgboost, plus DIR/versions.json.
"""
import json
import sys
from pathlib import Path

import numpy as np
import onnxmltools
import sklearn
import skl2onnx
import xgboost
from onnxmltools.convert.common.data_types import FloatTensorType as MlFloat
from skl2onnx import convert_sklearn, to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

out = Path(sys.argv[1])
train = json.loads((out / "train.json").read_text())
test = json.loads((out / "test.json").read_text())
X = np.asarray(train["X"], dtype=np.float32)
y = np.asarray(train["y"], dtype=np.int64)
X_test = np.asarray(test["X"], dtype=np.float32)
width = X.shape[1]

models = {
    # to_onnx infers the input (named "X") from a sample; ZipMap output as skl2onnx writes by default.
    "logreg": (LogisticRegression(max_iter=2000).fit(X, y), lambda m: to_onnx(m, X[:1])),
    "gbm": (
        GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=0).fit(X, y),
        lambda m: convert_sklearn(m, initial_types=[("input", FloatTensorType([None, width]))]),
    ),
    "xgboost": (
        xgboost.XGBClassifier(n_estimators=40, max_depth=4, learning_rate=0.2, random_state=0).fit(X, y),
        lambda m: onnxmltools.convert_xgboost(m, initial_types=[("float_input", MlFloat([None, width]))]),
    ),
}
for name, (model, convert) in models.items():
    (out / f"{name}.onnx").write_bytes(convert(model).SerializeToString())
    proba = model.predict_proba(X_test)
    (out / f"{name}.proba.json").write_text(json.dumps(proba.astype(float).tolist()))
(out / "versions.json").write_text(
    json.dumps(
        {
            "scikit-learn": sklearn.__version__,
            "skl2onnx": skl2onnx.__version__,
            "onnxmltools": onnxmltools.__version__,
            "xgboost": xgboost.__version__,
        }
    )
)
print(f"trained {', '.join(models)} on {X.shape[0]} rows x {width} features")
