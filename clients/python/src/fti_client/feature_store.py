"""The FTI Platform's online service from Python: feature store reads, predictions, event push."""

from __future__ import annotations

import base64
import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Literal, Mapping, Optional, Sequence, Union

from ._http import Transport, download, segment
from .frames import DtypeBackend, table_to_pandas

if TYPE_CHECKING:
    import pandas as pd

#: Environment variables read when ``url`` / ``api_key`` are not given.
URL_ENV = "FTI_URL"
#: Seconds allowed for calls that do real work on the server (an import scores a test split).
LONG_CALL_SECONDS = 600.0
API_KEY_ENV = "FTI_API_KEY"
DEFAULT_URL = "http://127.0.0.1:8080"
#: Events per push request (the service takes at most 10 000).
PUSH_BATCH = 10_000
#: Entities per online-features request (the service takes at most 1000).
ONLINE_BATCH = 1000

Json = Dict[str, Any]
Rows = Union[Sequence[Mapping[str, Any]], "pd.DataFrame"]


def _time(value: Optional[str]) -> Optional[dt.datetime]:
    if value is None:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Feature:
    """One column of a feature group."""

    name: str
    type: str
    nullable: bool
    description: Optional[str] = None


@dataclass(frozen=True)
class FeatureGroup:
    """A feature group version: schema, key, event time, online settings, latest completed commit."""

    name: str
    version: int
    versions: List[int]
    description: str
    primary_key: List[str]
    event_time: str
    features: List[Feature]
    online_enabled: bool
    online_ttl_seconds: Optional[int]
    latest_commit: Optional[Json]
    #: ``{kind, source}`` of an external group (rows read in place); None when the platform stores them.
    external: Optional[Json]
    raw: Json = field(repr=False)

    @classmethod
    def _from(cls, body: Json) -> "FeatureGroup":
        return cls(
            name=body["name"],
            version=body["version"],
            versions=list(body["versions"]),
            description=body["description"],
            primary_key=list(body["primaryKey"]),
            event_time=body["eventTime"],
            features=[Feature(f["name"], f["type"], f["nullable"], f.get("description")) for f in body["features"]],
            online_enabled=body["online"]["enabled"],
            online_ttl_seconds=body["online"]["ttlSeconds"],
            latest_commit=body["latestCommit"],
            external=body.get("external"),
            raw=body,
        )


@dataclass(frozen=True)
class FeatureView:
    """A feature view version: what a model reads (features, labels), how entities are looked up."""

    name: str
    version: int
    versions: List[int]
    description: str
    entity_keys: List[str]
    event_time: str
    features: List[str]
    labels: List[str]
    #: Versions of the view's training datasets that are ready.
    training_datasets: List[int]
    #: Every output column: name, type, role, origin (and the group of joined columns).
    columns: List[Json]
    raw: Json = field(repr=False)

    @classmethod
    def _from(cls, body: Json) -> "FeatureView":
        return cls(
            name=body["name"],
            version=body["version"],
            versions=list(body["versions"]),
            description=body["description"],
            entity_keys=list(body["entityKeys"]),
            event_time=body["eventTime"],
            features=list(body["features"]),
            labels=list(body["labels"]),
            training_datasets=list(body["trainingDatasets"]),
            columns=list(body["columns"]),
            raw=body,
        )


@dataclass(frozen=True)
class TrainingDataset:
    """A ready training dataset version: splits and row counts, fitted transformation, snapshot read."""

    feature_view: str
    view_version: int
    version: int
    description: str
    row_counts: Dict[str, int]
    splits: Json
    #: ``{features, outputs, steps}``: the model-dependent transformations fitted on the train split.
    transformation: Json
    #: ``{"<group>@v<version>": commitId}``: the exact snapshot of each feature group.
    feature_group_commits: Dict[str, int]
    created_at: dt.datetime
    raw: Json = field(repr=False)

    @property
    def split_names(self) -> List[str]:
        return [s for s in ("train", "validation", "test") if s in self.row_counts]

    @classmethod
    def _from(cls, body: Json) -> "TrainingDataset":
        created = _time(body["createdAt"])
        assert created is not None
        return cls(
            feature_view=body["featureView"]["name"],
            view_version=body["featureView"]["version"],
            version=body["version"],
            description=body["description"],
            row_counts=dict(body["rowCounts"]),
            splits=dict(body["splits"]),
            transformation=dict(body["transformation"]),
            feature_group_commits=dict(body["featureGroupCommits"]),
            created_at=created,
            raw=body,
        )


@dataclass(frozen=True)
class SplitDownload:
    """A presigned URL of one split's Parquet file, valid until ``expires_at``."""

    url: str = field(repr=False)
    feature_view: str
    view_version: int
    training_dataset: int
    split: str
    rows: int
    bytes: int
    expires_at: dt.datetime
    #: True when the file holds model inputs (the dataset's transformations applied).
    transformed: bool = False
    #: The model's input columns, in order (after transformation).
    feature_names: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class FeatureVector:
    """One entity's online features: values in view order, each with its status."""

    keys: Json
    #: Untransformed values by feature name (times as ISO-8601 strings).
    values: Json
    #: ``present``, ``missing``, ``outside_ttl``, ``passed`` or ``computed`` per feature.
    status: Dict[str, str]
    #: Model input (with ``training_dataset``), in the dataset's output order; None = missing.
    vector: Optional[List[Optional[float]]] = None


def _view_ref(view: Union[str, FeatureView], version: Optional[int]) -> "tuple[str, Optional[int]]":
    if isinstance(view, FeatureView):
        return view.name, version if version is not None else view.version
    return view, version


def _records(rows: Rows, what: str) -> List[Mapping[str, Any]]:
    """Rows as a list of mappings (a DataFrame gives one per row)."""
    to_dict = getattr(rows, "to_dict", None)
    if callable(to_dict) and hasattr(rows, "columns"):
        return list(to_dict(orient="records"))
    if isinstance(rows, Mapping):
        return [rows]
    records = list(rows)
    for i, row in enumerate(records):
        if not isinstance(row, Mapping):
            raise TypeError(f"{what}[{i}] must be a mapping (a dict of column → value), not {type(row).__name__}")
    return records


class FeatureStore:
    """The online service of an FTI Platform: feature store reads, predictions, event push.

    ``url`` defaults to ``$FTI_URL`` (else http://127.0.0.1:8080) and ``api_key`` to
    ``$FTI_API_KEY``. Reads need a key with scope ``features``, :meth:`predict` one with
    ``predict``, :meth:`push` one with ``push``; an ``admin`` key may do everything. Errors raise
    :class:`fti_client.FtiApiError` subclasses carrying the server's message and HTTP status.

    >>> fs = FeatureStore("http://127.0.0.1:8080", api_key="fti_...")
    >>> view = fs.get_feature_view("churn")
    >>> train = fs.get_training_data(view, split="train")
    """

    def __init__(self, url: Optional[str] = None, api_key: Optional[str] = None, *, timeout: float = 30.0) -> None:
        self._http = Transport(url or os.environ.get(URL_ENV) or DEFAULT_URL, api_key or os.environ.get(API_KEY_ENV), timeout)

    @property
    def url(self) -> str:
        return self._http.url

    # ---- metadata -----------------------------------------------------------------------------

    def list_feature_groups(self) -> List[Json]:
        """Every feature group version: name, version, key, event time, online, latest commit."""
        return list(self._http.request("GET", "/v1/feature-groups")["featureGroups"])

    def get_feature_group(self, name: str, version: Optional[int] = None) -> FeatureGroup:
        """A feature group version (the latest when ``version`` is omitted)."""
        body = self._http.request("GET", f"/v1/feature-groups/{segment(name)}", query={"version": version})
        return FeatureGroup._from(body)

    def list_feature_views(self) -> List[Json]:
        """Every feature view version: name, version, description, created."""
        return list(self._http.request("GET", "/v1/feature-views")["featureViews"])

    def get_feature_view(self, name: str, version: Optional[int] = None) -> FeatureView:
        """A feature view version (the latest when ``version`` is omitted)."""
        body = self._http.request("GET", f"/v1/feature-views/{segment(name)}", query={"version": version})
        return FeatureView._from(body)

    def list_training_datasets(self, view: Union[str, FeatureView], view_version: Optional[int] = None) -> List[Json]:
        """The training datasets of a view version, newest first (every state)."""
        name, version = _view_ref(view, view_version)
        body = self._http.request(
            "GET", f"/v1/feature-views/{segment(name)}/training-datasets", query={"version": version}
        )
        return list(body["trainingDatasets"])

    def get_training_dataset(
        self, view: Union[str, FeatureView], version: Optional[int] = None, *, view_version: Optional[int] = None
    ) -> TrainingDataset:
        """A ready training dataset (the newest ready one when ``version`` is omitted)."""
        name, vv = _view_ref(view, view_version)
        if version is None:
            version = self._latest_dataset(name, vv)
        body = self._http.request(
            "GET", f"/v1/feature-views/{segment(name)}/training-datasets/{int(version)}", query={"version": vv}
        )
        return TrainingDataset._from(body)

    # ---- training data ------------------------------------------------------------------------

    def get_training_data_url(
        self,
        view: Union[str, FeatureView],
        version: Optional[int] = None,
        split: str = "train",
        *,
        expires_in: Optional[int] = None,
        view_version: Optional[int] = None,
        transformed: bool = False,
    ) -> SplitDownload:
        """A presigned URL of one split's Parquet file (``expires_in`` seconds, 1–3600; default 900).

        ``transformed=True``: the model-ready file (see :meth:`get_training_data`).
        """
        name, vv = _view_ref(view, view_version)
        if version is None:
            version = self._latest_dataset(name, vv)
        body = self._http.request(
            "GET",
            f"/v1/feature-views/{segment(name)}/training-datasets/{int(version)}/splits/{segment(split)}",
            query={"version": vv, "expiresIn": expires_in, "transformed": "true" if transformed else None},
            # The first request for a split's model inputs builds them on the server.
            timeout=max(self._http.timeout, LONG_CALL_SECONDS) if transformed else None,
        )
        expires = _time(body["expiresAt"])
        assert expires is not None
        return SplitDownload(
            url=body["url"],
            feature_view=body["featureView"]["name"],
            view_version=body["featureView"]["version"],
            training_dataset=body["trainingDataset"],
            split=body["split"],
            rows=body["rows"],
            bytes=body["bytes"],
            expires_at=expires,
            transformed=bool(body["transformed"]),
            feature_names=list(body["featureNames"]),
        )

    def get_training_data(
        self,
        view: Union[str, FeatureView],
        version: Optional[int] = None,
        split: str = "train",
        *,
        view_version: Optional[int] = None,
        dtype_backend: DtypeBackend = "numpy_nullable",
        transformed: bool = False,
    ) -> "pd.DataFrame":
        """One split of a training dataset as a DataFrame (the newest ready dataset without ``version``).

        The split's Parquet file is downloaded from the object store through a short-lived URL.
        Columns are the view's as stored (keys, event time, untransformed features, labels):
        timestamps tz-aware UTC, integers and booleans nullable (``Int64``, ``Int32``, ``boolean``;
        ``pd.NA`` for null), floats float64 (NaN for null).

        ``transformed=True`` returns the **model inputs** instead of the untransformed features:
        the dataset's fitted transformations applied by the platform (one-hot ``feature=value``
        columns, scaled values) as float64 columns, in model-input order, beside keys, event time
        and labels. ``df.attrs["feature_names"]`` lists them in order. Train on
        ``df[df.attrs["feature_names"]]`` to get a model :meth:`import_model` accepts.
        """
        import pyarrow.parquet as pq

        where = self.get_training_data_url(
            view, version, split, view_version=view_version, transformed=transformed
        )
        what = f"{where.feature_view} v{where.view_version} training dataset {where.training_dataset} split {where.split}"
        with tempfile.TemporaryFile() as file:
            download(where.url, file, timeout=max(self._http.timeout, 300.0), what=what)
            file.seek(0)
            table = pq.read_table(file)
        if table.num_rows != where.rows:
            raise ValueError(f"{what}: downloaded {table.num_rows} rows, the service said {where.rows}")
        frame = table_to_pandas(table, dtype_backend)
        frame.attrs["feature_names"] = list(where.feature_names)
        return frame

    # ---- online -------------------------------------------------------------------------------

    def get_online_features(
        self,
        view: Union[str, FeatureView],
        entities: Rows,
        *,
        request: Optional[Sequence[Mapping[str, Any]]] = None,
        missing: Literal["null", "error"] = "null",
        training_dataset: Optional[int] = None,
        view_version: Optional[int] = None,
    ) -> List[FeatureVector]:
        """The latest feature values of entities from the online store, in request order.

        ``entities`` are the entity keys (dicts like ``{"customer_id": 4}``, or a DataFrame of key
        columns); ``request`` optional request-time values per entity. An entity without an online
        row gets nulls and status ``missing`` (``missing="error"`` raises instead). With
        ``training_dataset``, each vector also holds the model input after that dataset's
        transformations.
        """
        name, vv = _view_ref(view, view_version)
        keys = _records(entities, "entities")
        extras = list(request) if request is not None else None
        if extras is not None and len(extras) != len(keys):
            raise ValueError(f"request has {len(extras)} entries for {len(keys)} entities; give one per entity")
        vectors: List[FeatureVector] = []
        for start in range(0, len(keys), ONLINE_BATCH):
            batch = [
                {"keys": dict(k), **({"request": dict(extras[start + i])} if extras is not None else {})}
                for i, k in enumerate(keys[start : start + ONLINE_BATCH])
            ]
            body: Json = {"entities": batch, "missing": missing}
            if training_dataset is not None:
                body["trainingDataset"] = int(training_dataset)
            answer = self._http.request(
                "POST", f"/v1/feature-views/{segment(name)}/online", query={"version": vv}, body=body
            )
            vectors.extend(
                FeatureVector(keys=v["keys"], values=v["values"], status=v["status"], vector=v.get("vector"))
                for v in answer["vectors"]
            )
        return vectors

    # ---- inference and events -----------------------------------------------------------------

    def predict(self, deployment: str, rows: Rows) -> Json:
        """Predictions of a deployment (``POST /v1/deployments/{name}/predict``).

        Each row is an instance ``{"keys": {...}, "request": {...}, "eventTime": "..."}``, or just
        the entity keys. Returns the service's answer: ``requestId``, ``deploymentVersion`` and one
        entry per row in ``predictions`` (variant, model, label and probabilities or prediction,
        and every feature's value and status).
        """
        instances = [dict(r) if "keys" in r else {"keys": dict(r)} for r in _records(rows, "rows")]
        return dict(
            self._http.request("POST", f"/v1/deployments/{segment(deployment)}/predict", body={"instances": instances})
        )

    def push(self, feature_group: str, rows: Rows, *, version: Optional[int] = None) -> Json:
        """Pushes events into a feature group's stream (``POST /v1/feature-groups/{name}/events``).

        Each row is one event: the group's primary key, event time and features (times as
        datetimes or ISO-8601 strings; naive ones are UTC). Sent in requests of at most 10 000
        events; each request is stored whole or not at all (an invalid event raises
        :class:`UnprocessableError` naming it). A resent event is stored once. Returns
        ``accepted``, ``duplicates`` and the stream ``sequences`` over all requests.
        """
        events = _records(rows, "rows")
        total: Json = {"featureGroup": feature_group, "accepted": 0, "duplicates": 0, "sequences": []}
        for start in range(0, len(events), PUSH_BATCH):
            answer = self._http.request(
                "POST",
                f"/v1/feature-groups/{segment(feature_group)}/events",
                query={"version": version},
                body={"events": events[start : start + PUSH_BATCH]},
            )
            total.update(version=answer["version"], stream=answer["stream"])
            total["accepted"] += answer["accepted"]
            total["duplicates"] += answer["duplicates"]
            total["sequences"].extend(answer["sequences"])
        return total

    # ---- models ---------------------------------------------------------------------------------

    def import_model(
        self,
        onnx: Union[str, "os.PathLike[str]", bytes],
        model: str,
        feature_view: Union[str, FeatureView],
        training_dataset: int,
        *,
        view_version: Optional[int] = None,
        task: Optional[str] = None,
        inputs: Optional[Mapping[str, List[str]]] = None,
        output: Optional[str] = None,
        scores: str = "probabilities",
        framework: Optional[str] = None,
        framework_version: Optional[str] = None,
        alias: Optional[str] = None,
        compare_with: str = "champion",
        gates: Optional[Json] = None,
        slice_columns: Optional[List[str]] = None,
        description: str = "",
        tags: Optional[Mapping[str, str]] = None,
    ) -> Json:
        """Registers an ONNX model trained outside the platform (``POST /v1/models/{name}/import``).

        Exactly ``fti models import``: the model (from skl2onnx — ZipMap outputs are fine —,
        onnxmltools or torch.onnx) is adapted to the platform's interface, checked on the training
        dataset's rows, scored on its test split, gated like a trained model and registered with
        provenance, then deploys and serves like any version. Train it on
        ``get_training_data(view, training_dataset, transformed=True)`` columns
        ``df.attrs["feature_names"]``, in that order. ``onnx`` is a path or the file's bytes.
        Returns ``version``, ``state`` (``rejected`` when a gate failed), ``alias``, ``metrics``,
        ``gates`` and ``provenance``; a model that does not fit raises :class:`BadRequestError`
        and registers nothing. Needs an API key with scope ``models``.
        """
        if isinstance(onnx, (bytes, bytearray)):
            data, file_name = bytes(onnx), "model.onnx"
        else:
            with open(onnx, "rb") as handle:
                data = handle.read()
            file_name = os.path.basename(os.fspath(onnx))
        name, vv = _view_ref(feature_view, view_version)
        body: Json = {
            "featureView": {"name": name, **({"version": vv} if vv is not None else {})},
            "trainingDataset": int(training_dataset),
            "scores": scores,
            "compareWith": compare_with,
            "description": description,
            "tags": dict(tags or {}),
            "sliceColumns": list(slice_columns or []),
            "onnx": base64.b64encode(data).decode("ascii"),
            "fileName": file_name,
        }
        optional = {
            "task": task,
            "inputs": {k: list(v) for k, v in inputs.items()} if inputs else None,
            "output": output,
            "framework": framework,
            "frameworkVersion": framework_version,
            "alias": alias,
            "gates": gates,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return dict(
            self._http.request(
                "POST",
                f"/v1/models/{segment(model)}/import",
                body=body,
                timeout=max(self._http.timeout, LONG_CALL_SECONDS),
            )
        )

    def openapi(self) -> Json:
        """The service's OpenAPI 3.1 document."""
        return dict(self._http.request("GET", "/v1/openapi.json"))

    def _latest_dataset(self, name: str, view_version: Optional[int]) -> int:
        ready = self.get_feature_view(name, view_version).training_datasets
        if not ready:
            raise ValueError(f"feature view {name} has no ready training dataset; create one (fti fv td create)")
        return max(ready)

