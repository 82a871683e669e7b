"""Conversions that need no service: Parquet types → pandas, Python values → JSON."""

from __future__ import annotations

import datetime as dt
import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fti_client import table_to_pandas
from fti_client._http import jsonable


def parquet_roundtrip(table: pa.Table) -> pa.Table:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    buffer.seek(0)
    return pq.read_table(buffer)


def test_naive_timestamps_become_utc_and_nullable_ints_keep_nulls() -> None:
    table = parquet_roundtrip(
        pa.table(
            {
                "ts": pa.array([dt.datetime(2026, 1, 1, 12, 0, 0, 123000), None], pa.timestamp("us")),
                "big": pa.array([2**60 + 1, None], pa.int64()),
                "small": pa.array([None, 7], pa.int32()),
                "flag": pa.array([True, None], pa.bool_()),
                "x": pa.array([1.5, None], pa.float64()),
                "s": pa.array(["a", None], pa.string()),
            }
        )
    )
    frame = table_to_pandas(table)
    assert str(frame["ts"].dtype) == "datetime64[us, UTC]"
    assert frame["ts"][0] == pd.Timestamp("2026-01-01T12:00:00.123Z")
    assert frame["ts"].isna().tolist() == [False, True]
    assert str(frame["big"].dtype) == "Int64" and frame["big"][0] == 2**60 + 1 and frame["big"][1] is pd.NA
    assert str(frame["small"].dtype) == "Int32" and frame["small"][0] is pd.NA
    assert str(frame["flag"].dtype) == "boolean" and frame["flag"][1] is pd.NA
    assert frame["x"].dtype == "float64" and np.isnan(frame["x"][1])
    assert frame["s"].tolist() == ["a", None]

    arrow = table_to_pandas(table, "pyarrow")
    assert str(arrow["big"].dtype) == "int64[pyarrow]"
    assert str(arrow["ts"].dtype) == "timestamp[us, tz=UTC][pyarrow]"


def test_zoned_timestamps_are_kept() -> None:
    table = pa.table({"ts": pa.array([dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)], pa.timestamp("ms", tz="UTC"))})
    assert str(table_to_pandas(table)["ts"].dtype) == "datetime64[ms, UTC]"


def test_values_become_plain_json() -> None:
    values = {
        "naive": dt.datetime(2026, 1, 1, 12, 0),
        "zoned": pd.Timestamp("2026-01-01T12:00:00+02:00"),
        "day": dt.date(2026, 1, 2),
        "nan": float("nan"),
        "na": pd.NA,
        "nat": pd.NaT,
        "np_int": np.int64(5),
        "np_float": np.float32(0.5),
        "np_bool": np.bool_(True),
        "list": np.array([1, 2]),
    }
    assert json.loads(json.dumps(jsonable(values), allow_nan=False)) == {
        "naive": "2026-01-01T12:00:00Z",
        "zoned": "2026-01-01T12:00:00+02:00",
        "day": "2026-01-02",
        "nan": None,
        "na": None,
        "nat": None,
        "np_int": 5,
        "np_float": 0.5,
        "np_bool": True,
        "list": [1, 2],
    }
