"""XGBoost trainer for the FTI platform's external-trainer contract.

Usage (the training worker runs it; ``{job}`` is the job file's path)::

    .venv/bin/python clients/python/src/fti_client/trainers/xgboost.py {job}
    python -m fti_client.trainers.xgboost {job}          # with clients/python/src on PYTHONPATH

It reads ``job.json`` (task, classes, feature names, Parquet files, params, seed), trains an
XGBoost ``hist`` model (binary: ``binary:logistic``, multiclass: ``multi:softprob``, regression:
``reg:squarederror``) with early stopping on the validation file when there is one, and writes into
``outputDir``:

- ``model.onnx``: input ``features`` float [N, D]; outputs ``label`` int64 [N] + ``probabilities``
  float [N, C] (classification, no ZipMap) or ``prediction`` float [N] (regression). Only the
  boosting rounds up to the best iteration are kept.
- ``metrics.json``: numbers only (the contract), e.g. ``validation_logloss``, ``best_iteration``,
  ``train_seconds``, ``gpu`` (1 when it trained on CUDA).
- ``model.xgb.json``: the same rounds as a native XGBoost model (the platform keeps only the first
  two files; this one is for whoever keeps the job folder).

Before writing, the ONNX is checked with ``onnx.checker``, its interface is checked against the
contract, and its outputs are compared with XGBoost's own predictions on up to 256 held-out rows
plus one all-missing row (onnxruntime when installed, else onnx's reference evaluator).

Device: ``device`` "auto" (default) trains on CUDA when the job holds a GPU (the GPU worker sets
``CUDA_VISIBLE_DEVICES``) and on the CPU otherwise; "cuda" requires a GPU; "cpu" never uses one.
When CUDA is wanted but unusable (no device for this job, or an XGBoost built without CUDA such as
the ``xgboost-cpu`` wheel), the run fails with exit code 3 saying why, unless ``gpu_fallback`` is
true: then it trains on the CPU and says so (stdout and ``gpu`` = 0 in the metrics).

Exit codes: 0 done, 2 bad job or params (the message names the param), 3 GPU unusable, 1 other.
Imports only the standard library, numpy, pyarrow, xgboost, onnxmltools and onnx.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import warnings

if __name__ == "__main__" and not __package__:
    # Run by path, this file's folder is sys.path[0], and `import xgboost` would import this file.
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import xgboost as xgb  # noqa: E402

TASKS = ("binary", "multiclass", "regression")
OBJECTIVES = {"binary": "binary:logistic", "multiclass": "multi:softprob", "regression": "reg:squarederror"}
EVAL_METRICS = {"binary": "logloss", "multiclass": "mlogloss", "regression": "rmse"}
ONNX_OPSET = 15  # the highest main-domain opset onnxmltools 1.16 converts to
CHECK_ROWS = 256


class JobError(Exception):
    """Bad job file, data or params (exit code 2)."""


class DeviceError(Exception):
    """CUDA was wanted and is not usable here (exit code 3)."""


GPU_HINT = '; or set the param device: "cpu", or gpu_fallback: true to train on the CPU'


# --- params -----------------------------------------------------------------------------------


class _Param:
    def __init__(self, kind, default, low=None, high=None, low_open=False, choices=None, doc=""):
        self.kind, self.default, self.low, self.high = kind, default, low, high
        self.low_open, self.choices, self.doc = low_open, choices, doc

    def parse(self, name, value):
        given = json.dumps(value)

        def bad(expected):
            return JobError(f"param {name}: must be {expected}, got {given}")

        if self.kind == "bool":
            if not isinstance(value, bool):
                raise bad("true or false")
            return value
        if self.kind == "choice":
            if value not in self.choices:
                raise bad("one of " + ", ".join(json.dumps(c) for c in self.choices))
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise bad("a number" if self.kind == "float" else "an integer")
        if self.kind == "int":
            if value != int(value):
                raise bad("an integer")
            value = int(value)
        else:
            value = float(value)
        low_ok = self.low is None or (value > self.low if self.low_open else value >= self.low)
        if not low_ok or (self.high is not None and value > self.high):
            lower = "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low}"
            upper = "" if self.high is None else f"<= {self.high}"
            raise bad(" and ".join(x for x in (lower, upper) if x))
        return value


#: Every param the trainer accepts, with its default (XGBoost's names and meanings).
PARAMS = {
    "n_estimators": _Param("int", 100, 1, 100_000, doc="boosting rounds (at most)"),
    "max_depth": _Param("int", 6, 0, 64, doc="tree depth; 0 = unlimited (needs max_leaves)"),
    "max_leaves": _Param("int", 0, 0, 2**31 - 1, doc="leaves per tree; 0 = no limit"),
    "learning_rate": _Param("float", 0.1, 0, 1, low_open=True, doc="shrinkage (eta)"),
    "early_stopping_rounds": _Param(
        "int", 10, 0, 100_000, doc="stop after this many rounds without validation gain; 0 = off"
    ),
    "min_child_weight": _Param("float", 1.0, 0, doc="minimum hessian sum in a leaf"),
    "subsample": _Param("float", 1.0, 0, 1, low_open=True, doc="row fraction per round"),
    "colsample_bytree": _Param("float", 1.0, 0, 1, low_open=True, doc="feature fraction per tree"),
    "colsample_bylevel": _Param("float", 1.0, 0, 1, low_open=True, doc="feature fraction per level"),
    "colsample_bynode": _Param("float", 1.0, 0, 1, low_open=True, doc="feature fraction per split"),
    "reg_lambda": _Param("float", 1.0, 0, doc="L2 on leaf weights"),
    "reg_alpha": _Param("float", 0.0, 0, doc="L1 on leaf weights"),
    "gamma": _Param("float", 0.0, 0, doc="minimum loss reduction to split"),
    "max_delta_step": _Param("float", 0.0, 0, doc="cap on a leaf's step; 0 = none (try 1 for rare positives)"),
    "max_bin": _Param("int", 256, 2, 65_536, doc="histogram bins per feature"),
    "grow_policy": _Param("choice", "depthwise", choices=("depthwise", "lossguide")),
    "scale_pos_weight": _Param("float", 1.0, 0, low_open=True, doc="weight of positives (binary only)"),
    "n_jobs": _Param("int", 0, 0, 4096, doc="threads; 0 = OpenMP's default (OMP_NUM_THREADS or all cores)"),
    "device": _Param("choice", "auto", choices=("auto", "cpu", "cuda")),
    "gpu_fallback": _Param("bool", False, doc="train on the CPU when CUDA is wanted but unusable"),
}

#: Names people type from other APIs, and what to write instead.
ALIASES = {
    "eta": "learning_rate",
    "lambda": "reg_lambda",
    "alpha": "reg_alpha",
    "num_boost_round": "n_estimators",
    "num_round": "n_estimators",
    "numTrees": "n_estimators",
    "maxDepth": "max_depth",
    "learningRate": "learning_rate",
    "earlyStoppingRounds": "early_stopping_rounds",
    "nthread": "n_jobs",
    "tree_method": None,
    "objective": None,
    "seed": None,
    "random_state": None,
}


def parse_params(raw, task):
    """Validates the job's params against PARAMS; returns every param with defaults filled in."""
    if not isinstance(raw, dict):
        raise JobError(f"params must be a JSON object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(PARAMS))
    if unknown:
        hints = []
        for name in unknown:
            if name in ("seed", "random_state"):
                hints.append(f"{name} (the pipeline's `seed` is used)")
            elif name in ("tree_method", "objective"):
                hints.append(f"{name} (fixed: hist, {OBJECTIVES[task]} for {task})")
            elif ALIASES.get(name):
                hints.append(f"{name} (did you mean {ALIASES[name]}?)")
            else:
                hints.append(name)
        raise JobError(f"unknown param(s) {', '.join(hints)}; known: {', '.join(PARAMS)}")
    params = {name: spec.default for name, spec in PARAMS.items()}
    for name, value in raw.items():
        params[name] = PARAMS[name].parse(name, value)
    if params["max_depth"] == 0 and params["max_leaves"] == 0:
        raise JobError("params max_depth and max_leaves: max_depth 0 (unlimited) needs max_leaves > 0")
    if "scale_pos_weight" in raw and task != "binary":
        raise JobError(f"param scale_pos_weight: only for binary tasks (this one is {task})")
    return params


# --- job and data -----------------------------------------------------------------------------


def load_job(path):
    """Reads and checks job.json (the contract's fields)."""
    try:
        with open(path, encoding="utf-8") as f:
            job = json.load(f)
    except (OSError, ValueError) as e:
        raise JobError(f"cannot read job file {path}: {e}") from e
    for key in ("task", "featureNames", "files", "outputDir"):
        if key not in job:
            raise JobError(f"job file {path} lacks `{key}`")
    if job["task"] not in TASKS:
        raise JobError(f"job task {json.dumps(job['task'])} is not one of {', '.join(TASKS)}")
    names = job["featureNames"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise JobError("job featureNames must be a non-empty list of column names")
    if job["task"] != "regression" and int(job.get("numClasses") or 0) < 2:
        raise JobError(f"job numClasses must be >= 2 for a {job['task']} task")
    if not job["files"].get("train"):
        raise JobError("job files.train is missing")
    return job


def read_split(path, feature_names, task, num_classes, split):
    """One Parquet file of the contract as (X float64 [N, D] with NaN = missing, y)."""
    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises several types for unreadable files
        raise JobError(f"cannot read the {split} file {path}: {e}") from e
    missing = [c for c in [*feature_names, "label"] if c not in table.column_names]
    if missing:
        raise JobError(f"the {split} file lacks column(s) {', '.join(missing)}")
    if table.num_rows == 0:
        raise JobError(f"the {split} file has no rows")
    # Nulls of a DOUBLE column come back as NaN: XGBoost's missing value.
    X = np.column_stack(
        [table.column(c).to_numpy().astype(np.float64, copy=False) for c in feature_names]
    )
    y = table.column("label").to_numpy().astype(np.float64, copy=False)
    if not np.isfinite(y).all():
        raise JobError(f"the {split} file's label has missing or infinite values")
    if task != "regression":
        if not np.all(y == np.round(y)) or y.min() < 0 or y.max() >= num_classes:
            raise JobError(f"the {split} file's label must be class indices 0..{num_classes - 1}")
        y = y.astype(np.int64)
    return X, y


# --- device -----------------------------------------------------------------------------------


def choose_device(params, env):
    """Returns ("cuda" | "cpu", reason). Raises DeviceError when CUDA is wanted, unusable, and no fallback."""
    visible = env.get("CUDA_VISIBLE_DEVICES", "").strip()
    has_device = visible not in ("", "-1", "NoDevFiles")
    if params["device"] == "cpu":
        return "cpu", "device=cpu in the params"
    if params["device"] == "auto" and not has_device:
        return "cpu", "this job holds no GPU (CUDA_VISIBLE_DEVICES unset)"
    wanted = "device=cuda in the params" if params["device"] == "cuda" else f"CUDA_VISIBLE_DEVICES={visible}"
    problem = None
    if not has_device:
        problem = (
            "device=cuda, but this job holds no GPU (CUDA_VISIBLE_DEVICES is unset): "
            "run it on a GPU training worker (trainQueue fti-training-gpu)"
        )
    elif not xgb.build_info().get("USE_CUDA"):
        problem = (
            f"{wanted}, but this XGBoost {xgb.__version__} is built without CUDA (e.g. the xgboost-cpu wheel): "
            f"install the CUDA build (pip install xgboost=={xgb.__version__}) on GPU workers"
        )
    if problem is None:
        return "cuda", wanted
    if params["gpu_fallback"]:
        return "cpu", f"gpu_fallback: {problem}"
    raise DeviceError(problem + GPU_HINT)


# --- training ---------------------------------------------------------------------------------


class _Progress(xgb.callback.TrainingCallback):
    """Prints `progress <done>/<total> <metrics>` (heartbeats) at most every 0.5 s, and the last round."""

    def __init__(self, total, names):
        super().__init__()
        self.total, self.names, self.last = total, names, 0.0

    def after_iteration(self, model, epoch, evals_log):
        done, now = epoch + 1, time.monotonic()
        if done == 1 or done == self.total or now - self.last >= 0.5:
            values = " ".join(
                f"{self.names.get(data, data)}_{metric}={series[-1]:.6g}"
                for data, metrics in evals_log.items()
                for metric, series in metrics.items()
            )
            print(f"progress {done}/{self.total} {values}".rstrip(), flush=True)
            self.last = now
        return False


def train(job, params, device, train_data, validation_data):
    """Fits the model; returns (sklearn model, booster cut at the best iteration, metrics)."""
    task = job["task"]
    metric = EVAL_METRICS[task]
    X, y = train_data
    if task != "regression":
        present = set(np.unique(y).tolist())
        absent = [k for k in range(int(job["numClasses"])) if k not in present]
        if absent:
            classes = job.get("classes") or []
            named = [f"{classes[k]!r} (index {k})" if k < len(classes) else str(k) for k in absent]
            raise JobError(f"class(es) {', '.join(named)} have no rows in the train split; XGBoost needs every class")
    eval_set = [(X, y)] + ([validation_data] if validation_data is not None else [])
    names = {"validation_0": "train", "validation_1": "validation"}
    stopping = params["early_stopping_rounds"] if validation_data is not None else 0
    options = dict(
        n_estimators=params["n_estimators"],
        max_depth=params["max_depth"],
        max_leaves=params["max_leaves"],
        learning_rate=params["learning_rate"],
        min_child_weight=params["min_child_weight"],
        subsample=params["subsample"],
        colsample_bytree=params["colsample_bytree"],
        colsample_bylevel=params["colsample_bylevel"],
        colsample_bynode=params["colsample_bynode"],
        reg_lambda=params["reg_lambda"],
        reg_alpha=params["reg_alpha"],
        gamma=params["gamma"],
        max_delta_step=params["max_delta_step"],
        max_bin=params["max_bin"],
        grow_policy=params["grow_policy"],
        n_jobs=params["n_jobs"] or None,
        tree_method="hist",
        device=device,
        objective=OBJECTIVES[task],
        eval_metric=metric,
        random_state=int(job.get("seed", 0)) % 2**31,
        missing=np.nan,
        callbacks=[_Progress(params["n_estimators"], names)],
        early_stopping_rounds=stopping or None,
    )
    if device == "cuda":
        # A CUDA build without a usable GPU would otherwise warn and carry on on the CPU.
        options["fail_on_invalid_gpu_id"] = True
    if task == "binary":
        options["scale_pos_weight"] = params["scale_pos_weight"]
    model = xgb.XGBRegressor(**options) if task == "regression" else xgb.XGBClassifier(**options)
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.fit(X, y, eval_set=eval_set, verbose=False)
        except xgb.core.XGBoostError as e:
            if device == "cuda":
                raise DeviceError(f"XGBoost could not train on CUDA: {str(e).splitlines()[0]}{GPU_HINT}") from e
            raise
    seconds = time.perf_counter() - started
    for w in caught:
        print(f"xgboost warning: {str(w.message).strip().splitlines()[-1]}", flush=True)
    booster = model.get_booster()
    used = json.loads(booster.save_config())["learner"]["generic_param"].get("device", "cpu")
    if device == "cuda" and not used.startswith("cuda"):
        raise DeviceError(f"XGBoost was asked for CUDA and trained on {used!r} (no usable GPU){GPU_HINT}")
    rounds = booster.num_boosted_rounds()
    best = model.best_iteration if stopping else rounds - 1
    results = model.evals_result()
    metrics = {
        "best_iteration": best,
        "iterations": best + 1,
        "rounds_trained": rounds,
        "train_seconds": round(seconds, 4),
        "gpu": 1 if used.startswith("cuda") else 0,
        "rows_train": int(X.shape[0]),
    }
    for data, name in names.items():
        if data in results:
            metrics[f"{name}_{metric}"] = float(results[data][metric][best])
    if validation_data is not None:
        metrics["rows_validation"] = int(validation_data[0].shape[0])
    if stopping and rounds < params["n_estimators"]:
        print(f"early stopping after {rounds} rounds (best iteration {best})", flush=True)
    cut = booster[: best + 1]
    cut.set_param({"device": "cpu"})
    return model, cut, metrics


# --- ONNX -------------------------------------------------------------------------------------


def to_onnx(model, task, num_features, job, device):
    """Converts with onnxmltools and shapes the graph to the contract (names, regression output [N])."""
    import onnx
    from onnx import TensorProto, helper
    from onnxmltools.convert import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    converted = convert_xgboost(
        model,
        initial_types=[("features", FloatTensorType([None, num_features]))],
        target_opset=ONNX_OPSET,
    )
    graph = converted.graph
    if task == "regression":
        # onnxmltools returns `variable` [N, 1]; the contract wants `prediction` [N].
        (raw,) = list(graph.output)
        for node in graph.node:
            node.output[:] = ["prediction_2d" if o == raw.name else o for o in node.output]
        graph.initializer.append(helper.make_tensor("flat_shape", TensorProto.INT64, [1], [-1]))
        graph.node.append(helper.make_node("Reshape", ["prediction_2d", "flat_shape"], ["prediction"]))
        del graph.output[:]
        graph.output.append(helper.make_tensor_value_info("prediction", TensorProto.FLOAT, ["N"]))
    domains = {o.domain for o in converted.opset_import}
    if "" not in domains:
        converted.opset_import.append(helper.make_opsetid("", ONNX_OPSET))
    converted.producer_name = "fti_client.trainers.xgboost"
    converted.producer_version = xgb.__version__
    graph.name = f"xgboost_{task}"
    for key, value in {
        "trainer": "xgboost",
        "xgboost_version": xgb.__version__,
        "device": device,
        "feature_names": json.dumps(job["featureNames"]),
    }.items():
        converted.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    return converted


def check_onnx(proto, task, num_features, num_classes, X, expected):
    """The contract's interface, onnx.checker, and the outputs against XGBoost's; returns the max difference."""
    import onnx
    from onnx import TensorProto

    onnx.checker.check_model(proto, full_check=True)
    inputs = [(i.name, i.type.tensor_type.elem_type) for i in proto.graph.input]
    if inputs != [("features", TensorProto.FLOAT)]:
        raise RuntimeError(f"converted model takes {inputs}, not one float input `features`")
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    if len(dims) != 2 or dims[1] != num_features:
        raise RuntimeError(f"converted model's input has shape {dims}, not [N, {num_features}]")
    outputs = {o.name: o.type.tensor_type.elem_type for o in proto.graph.output}
    wanted = (
        {"prediction": TensorProto.FLOAT}
        if task == "regression"
        else {"label": TensorProto.INT64, "probabilities": TensorProto.FLOAT}
    )
    if outputs != wanted:
        raise RuntimeError(f"converted model's outputs are {outputs}, the contract wants {wanted} (no ZipMap)")
    feeds = {"features": X.astype(np.float32)}
    names = list(wanted)
    try:
        import onnxruntime as ort  # optional: the platform reloads the model in onnxruntime anyway

        session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        results = dict(zip(names, session.run(names, feeds)))
        engine = "onnxruntime"
    except ImportError:
        from onnx.reference import ReferenceEvaluator

        results = dict(zip(names, ReferenceEvaluator(proto).run(names, feeds)))
        engine = "onnx reference evaluator"
    if task == "regression":
        got = np.asarray(results["prediction"], dtype=np.float64)
        scale = max(1.0, float(np.max(np.abs(expected))))
        tolerance = 1e-5 * scale
    else:
        got = np.asarray(results["probabilities"], dtype=np.float64)
        if got.shape != (X.shape[0], num_classes):
            raise RuntimeError(f"ONNX probabilities have shape {got.shape}, expected {(X.shape[0], num_classes)}")
        labels = np.asarray(results["label"])
        if not np.array_equal(labels, np.argmax(got, axis=1)):
            raise RuntimeError("ONNX label is not the most probable class")
        tolerance = 1e-5
    difference = float(np.max(np.abs(got - expected)))
    if not difference < tolerance:
        raise RuntimeError(
            f"the ONNX model does not reproduce XGBoost ({engine}): max abs difference {difference:.3g} >= {tolerance:.3g}"
        )
    return difference, engine


def xgboost_predictions(booster, task, X):
    """What XGBoost predicts (classification: [N, C] probabilities; regression: [N])."""
    p = booster.inplace_predict(X.astype(np.float32), missing=np.nan).astype(np.float64)
    if task == "binary":
        return np.column_stack([1 - p, p])
    return p


# --- main -------------------------------------------------------------------------------------


def run(job_path, env=None):
    """Runs one job; returns the metrics written."""
    env = os.environ if env is None else env
    job = load_job(job_path)
    task, names = job["task"], job["featureNames"]
    num_classes = int(job.get("numClasses") or 0)
    params = parse_params(job.get("params") or {}, task)
    device, reason = choose_device(params, env)
    print(f"device: {device} ({reason})", flush=True)
    started = time.perf_counter()
    train_data = read_split(job["files"]["train"], names, task, num_classes, "train")
    validation_path = job["files"].get("validation")
    validation_data = (
        read_split(validation_path, names, task, num_classes, "validation") if validation_path else None
    )
    load_seconds = time.perf_counter() - started
    print(
        f"xgboost {xgb.__version__} {task}: {train_data[0].shape[0]} train rows"
        f"{f', {validation_data[0].shape[0]} validation rows' if validation_data else ''}, {len(names)} features",
        flush=True,
    )
    try:
        model, booster, metrics = train(job, params, device, train_data, validation_data)
    except DeviceError as e:
        # CUDA looked usable but XGBoost could not use it (a CUDA build on a machine without a GPU).
        if device != "cuda" or not params["gpu_fallback"]:
            raise
        print(f"device: cpu (gpu_fallback: {str(e).replace(GPU_HINT, '')})", flush=True)
        model, booster, metrics = train(job, params, "cpu", train_data, validation_data)
    started = time.perf_counter()
    proto = to_onnx(model, task, len(names), job, "cuda" if metrics["gpu"] else "cpu")
    sample = (validation_data or train_data)[0][:CHECK_ROWS]
    sample = np.vstack([sample, np.full((1, len(names)), np.nan)])  # the all-missing path too
    difference, engine = check_onnx(
        proto, task, len(names), num_classes, sample, xgboost_predictions(booster, task, sample)
    )
    metrics["convert_seconds"] = round(time.perf_counter() - started, 4)
    metrics["load_seconds"] = round(load_seconds, 4)
    metrics["onnx_max_abs_difference"] = difference
    out = job["outputDir"]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "model.onnx"), "wb") as f:
        f.write(proto.SerializeToString())
    booster.save_model(os.path.join(out, "model.xgb.json"))
    with open(os.path.join(out, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
    summary = " ".join(f"{k}={v}" for k, v in metrics.items() if k.endswith(EVAL_METRICS[task]))
    print(
        f"done: {metrics['iterations']} rounds (best iteration {metrics['best_iteration']}) on "
        f"{'cuda' if metrics['gpu'] else 'cpu'} in {metrics['train_seconds']:.2f} s; {summary}; "
        f"ONNX matches XGBoost within {difference:.2g} ({engine}, {sample.shape[0]} rows)",
        flush=True,
    )
    return metrics


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    job_path = argv[0] if argv else os.environ.get("FTI_JOB_FILE")
    if not job_path:
        print("usage: xgboost.py JOB_JSON (or set FTI_JOB_FILE)", file=sys.stderr)
        return 2
    try:
        run(job_path)
    except JobError as e:
        print(f"xgboost trainer: {e}", file=sys.stderr, flush=True)
        return 2
    except DeviceError as e:
        print(f"xgboost trainer: {e}", file=sys.stderr, flush=True)
        return 3
    except Exception as e:  # noqa: BLE001 — the traceback, then one line the platform quotes
        import traceback

        traceback.print_exc()
        print(f"xgboost trainer failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
