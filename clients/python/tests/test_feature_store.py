"""The client against a real online service (see conftest.py): every call a user relies on."""

from __future__ import annotations

import time
from typing import Any, Dict, List

import pandas as pd
import pytest

from fti_client import (
    AuthenticationError,
    BadRequestError,
    FeatureStore,
    FtiConnectionError,
    NotFoundError,
    PermissionDeniedError,
    UnprocessableError,
)

FEATURES = ["age", "visits", "score", "plan"]


def expected_rows(platform: Dict[str, Any]) -> pd.DataFrame:
    """What the training data must hold: each label row with its customer's features."""
    customers = {c["customer_id"]: c for c in platform["customers"]}
    rows: List[Dict[str, Any]] = []
    for label in platform["labels"]:
        c = customers[label["customer_id"]]
        rows.append({**label, **{f: c[f] for f in FEATURES}})
    return pd.DataFrame(rows).set_index("customer_id").sort_index()


def test_get_feature_view(fs: FeatureStore, platform: Dict[str, Any]) -> None:
    view = fs.get_feature_view(platform["featureView"])
    assert (view.name, view.version, view.versions) == (platform["featureView"], 1, [1])
    assert view.features == FEATURES
    assert view.labels == ["churned"]
    assert view.entity_keys == ["customer_id"]
    assert view.event_time == "ts"
    assert view.training_datasets == [platform["trainingDataset"]]
    assert fs.get_feature_view(platform["featureView"], version=1) == view
    assert platform["featureView"] in {v["name"] for v in fs.list_feature_views()}

    group = fs.get_feature_group(platform["featureGroups"]["customers"])
    assert group.primary_key == ["customer_id"] and group.event_time == "updated_at"
    assert group.online_enabled is True and group.external is None
    assert [(f.name, f.type, f.nullable) for f in group.features][2:4] == [("age", "int", True), ("visits", "bigint", True)]
    assert group.latest_commit is not None and group.latest_commit["rowsInserted"] == 48

    dataset = fs.get_training_dataset(view)
    assert dataset.version == platform["trainingDataset"]
    assert dataset.row_counts == platform["rowCounts"]
    assert dataset.split_names == ["train", "test"]
    assert dataset.transformation["outputs"] == ["age", "visits", "score", "plan=free", "plan=pro"]
    assert fs.list_training_datasets(view)[0]["state"] == "ready"


def test_get_training_data_types_and_values(fs: FeatureStore, platform: Dict[str, Any]) -> None:
    view = platform["featureView"]
    train = fs.get_training_data(view, platform["trainingDataset"], split="train")
    test = fs.get_training_data(view, platform["trainingDataset"], split="test")
    assert len(train) == platform["rowCounts"]["train"] and len(test) == platform["rowCounts"]["test"]

    assert isinstance(train["ts"].dtype, pd.DatetimeTZDtype) and str(train["ts"].dt.tz) == "UTC"
    assert str(train["customer_id"].dtype) == "Int64"
    assert str(train["visits"].dtype) == "Int64"  # bigint with nulls: exact, not float
    assert str(train["age"].dtype) == "Int32"  # int with nulls
    assert str(train["churned"].dtype) == "boolean"
    assert train["score"].dtype == "float64"

    both = pd.concat([train, test]).set_index("customer_id").sort_index()
    expected = expected_rows(platform)
    assert list(both.index) == list(expected.index)
    assert both["age"].isna().tolist() == expected["age"].isna().tolist()
    assert both["visits"].isna().sum() == 9  # every 5th of 48
    assert both["visits"].dropna().tolist() == expected["visits"].dropna().astype("int64").tolist()
    assert both["age"].dropna().tolist() == expected["age"].dropna().astype("int64").tolist()
    assert both["score"].tolist() == expected["score"].tolist()
    assert both["plan"].tolist() == expected["plan"].tolist()
    assert both["churned"].tolist() == expected["churned"].tolist()
    assert both["ts"].tolist() == pd.to_datetime(expected["ts"], utc=True).tolist()

    arrow = fs.get_training_data(view, split="test", dtype_backend="pyarrow")
    assert str(arrow["visits"].dtype) == "int64[pyarrow]"
    assert arrow["visits"].isna().sum() == test["visits"].isna().sum()


def test_training_data_url(fs: FeatureStore, platform: Dict[str, Any]) -> None:
    where = fs.get_training_data_url(platform["featureView"], split="test", expires_in=60)
    assert where.rows == platform["rowCounts"]["test"] and where.bytes > 0
    assert 50 < (where.expires_at - pd.Timestamp.now(tz="UTC")).total_seconds() <= 61
    with pytest.raises(BadRequestError, match=r"expiresIn"):
        fs.get_training_data_url(platform["featureView"], split="test", expires_in=7200)
    with pytest.raises(NotFoundError, match=r"has no validation split"):
        fs.get_training_data(platform["featureView"], split="validation")


def test_get_online_features(fs: FeatureStore, platform: Dict[str, Any]) -> None:
    view = fs.get_feature_view(platform["featureView"])
    vectors = fs.get_online_features(view, [{"customer_id": 4}, {"customer_id": 5}, {"customer_id": 999}])
    assert [v.values for v in vectors] == [
        {"age": 24, "visits": 1_000_000_000_004, "score": 0.5, "plan": "free"},
        {"age": None, "visits": None, "score": 0.625, "plan": "free"},
        {"age": None, "visits": None, "score": None, "plan": None},
    ]
    assert vectors[0].status == {f: "present" for f in FEATURES}
    assert vectors[2].status == {f: "missing" for f in FEATURES}
    assert vectors[0].vector is None

    frame = pd.DataFrame({"customer_id": [3]})
    [model_input] = fs.get_online_features(view, frame, training_dataset=platform["trainingDataset"])
    assert model_input.vector is not None and model_input.vector[3:] == [0.0, 1.0]  # plan=pro one-hot
    with pytest.raises(UnprocessableError, match=r"no online row"):
        fs.get_online_features(view, [{"customer_id": 999}], missing="error")
    with pytest.raises(UnprocessableError, match=r'entity key "customer_id"'):
        fs.get_online_features(view, [{"customer_id": "four"}])


def test_push_then_read_online(platform: Dict[str, Any], keys: Dict[str, str]) -> None:
    pusher = FeatureStore(platform["url"], api_key=keys["push"])
    events = pd.DataFrame(
        {
            "customer_id": [5001, 5002],
            "updated_at": [pd.Timestamp("2026-02-01T10:00:00Z"), pd.Timestamp("2026-02-01T10:00:01Z")],
            "age": pd.array([41, None], dtype="Int32"),
            "visits": pd.array([7, 8], dtype="Int64"),
            "score": [2.5, float("nan")],
            "plan": ["pro", "free"],
        }
    )
    result = pusher.push(platform["featureGroups"]["customers"], events)
    assert result["accepted"] == 2 and result["duplicates"] == 0
    assert pusher.push(platform["featureGroups"]["customers"], events)["duplicates"] == 2  # a resend is stored once

    reader = FeatureStore(platform["url"], api_key=keys["features"])
    deadline = time.monotonic() + 30
    while True:
        vectors = reader.get_online_features(platform["featureView"], [{"customer_id": 5001}, {"customer_id": 5002}])
        if all(v.status["plan"] == "present" for v in vectors) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [v.values for v in vectors] == [
        {"age": 41, "visits": 7, "score": 2.5, "plan": "pro"},
        {"age": None, "visits": 8, "score": None, "plan": "free"},
    ]

    with pytest.raises(UnprocessableError) as refused:
        pusher.push(platform["featureGroups"]["customers"], [{"customer_id": 5003, "updated_at": "2026-02-01T10:00:00Z", "colour": "red"}])
    assert refused.value.status == 422 and refused.value.body["errors"][0]["index"] == 0


def test_predict(platform: Dict[str, Any], keys: Dict[str, str]) -> None:
    client = FeatureStore(platform["url"], api_key=keys["predict"])
    answer = client.predict(platform["deployment"], [{"customer_id": 3}, {"keys": {"customer_id": 4}}])
    assert answer["deployment"] == platform["deployment"] and answer["deploymentVersion"] == 1
    assert len(answer["predictions"]) == 2
    for p in answer["predictions"]:
        assert p["model"] == {"name": platform["model"], "version": 1}
        assert p["label"] in ("true", "false")
        assert abs(sum(p["probabilities"].values()) - 1) < 1e-6
    assert answer["predictions"][0]["features"]["plan"] == {"value": "pro", "status": "present"}


def test_errors_carry_status_and_server_message(fs: FeatureStore, platform: Dict[str, Any], keys: Dict[str, str]) -> None:
    with pytest.raises(NotFoundError) as missing:
        fs.get_feature_view("no_such_view_anywhere")
    assert missing.value.status == 404
    assert "feature view no_such_view_anywhere does not exist" in missing.value.message
    with pytest.raises(BadRequestError, match=r"path: name must be a lowercase name"):
        fs.get_feature_view("Bad-Name")

    with pytest.raises(PermissionDeniedError) as denied:
        FeatureStore(platform["url"], api_key=keys["predict"]).get_feature_view(platform["featureView"])
    assert denied.value.status == 403 and "this call needs features" in denied.value.message
    with pytest.raises(PermissionDeniedError):
        FeatureStore(platform["url"], api_key=keys["labels"]).get_training_data(platform["featureView"])
    with pytest.raises(PermissionDeniedError, match=r"needs push"):
        fs.push(platform["featureGroups"]["customers"], [{"customer_id": 1}])
    with pytest.raises(AuthenticationError, match=r"missing API key"):
        FeatureStore(platform["url"], api_key="").list_feature_groups()
    admin = FeatureStore(platform["url"], api_key=keys["admin"])
    assert admin.get_feature_view(platform["featureView"]).version == 1

    with pytest.raises(FtiConnectionError, match=r"cannot reach the FTI service"):
        FeatureStore("http://127.0.0.1:9", api_key="x", timeout=2).list_feature_views()


def test_openapi(fs: FeatureStore) -> None:
    document = fs.openapi()
    assert document["openapi"] == "3.1.0"
    assert "/v1/feature-views/{name}/online" in document["paths"]
