"""Trains XGBoost (hist) on raw float64 files and writes the test split's positive-class probabilities.

Usage: python xgboost-reference.py DIR PARAMS_JSON
DIR holds {train,validation,test}.X.f64 (row-major) and {train,validation}.y.f64, plus shape.json
({"cols": N}); PARAMS_JSON uses the platform's GBDT names (numTrees, maxDepth, learningRate, l2,
minChildWeight, maxBins, maxDeltaStep, earlyStoppingRounds). Writes DIR/test.p.f64 and prints
one JSON line: {"version", "best_iteration"}.
"""
import json
import os
import sys

import numpy as np
import xgboost as xgb

folder, params = sys.argv[1], json.loads(sys.argv[2])
cols = json.load(open(os.path.join(folder, "shape.json")))["cols"]


def matrix(split):
    return np.fromfile(os.path.join(folder, f"{split}.X.f64"), dtype="<f8").reshape(-1, cols)


def labels(split):
    return np.fromfile(os.path.join(folder, f"{split}.y.f64"), dtype="<f8")


train = xgb.DMatrix(matrix("train"), label=labels("train"))
validation = xgb.DMatrix(matrix("validation"), label=labels("validation"))
booster = xgb.train(
    {
        "objective": "binary:logistic",
        "tree_method": "hist",
        "max_depth": params["maxDepth"],
        "eta": params["learningRate"],
        "lambda": params.get("l2", 1),
        "min_child_weight": params.get("minChildWeight", 1),
        "max_bin": params.get("maxBins", 256),
        "max_delta_step": params.get("maxDeltaStep", 0),
        "eval_metric": "logloss",
        "nthread": 1,
        "seed": 0,
    },
    train,
    num_boost_round=params["numTrees"],
    evals=[(validation, "validation")],
    early_stopping_rounds=params.get("earlyStoppingRounds", 10) or None,
    verbose_eval=False,
)
best = getattr(booster, "best_iteration", params["numTrees"] - 1)
probabilities = booster.predict(xgb.DMatrix(matrix("test")), iteration_range=(0, best + 1))
probabilities.astype("<f8").tofile(os.path.join(folder, "test.p.f64"))
print(json.dumps({"version": xgb.__version__, "best_iteration": int(best)}))
