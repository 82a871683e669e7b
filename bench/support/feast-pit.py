"""Feast's point-in-time join over the same Parquet files bench/pit gives the platform.

Run by bench/pit.ts with the bench venv's Python (infra/python-bench.sh installs Feast there):

    .venv-bench/bin/python bench/support/feast-pit.py '<json>'

where <json> is {"repo": DIR, "spine": FILE, "groups": [{"name", "path", "features": [...]}],
"runs": N, "sample": M}. It writes a Feast repo into DIR (feature_store.yaml with the DuckDB offline
store, a file registry), registers one entity `entity_id` and one FeatureView per group over a
FileSource on the group's Parquet file (no TTL: the latest row at or before the spine time, as the
platform's view without lookback), and reads the spine's (entity_id, event_time) into a DataFrame.

Timed, per run: `store.get_historical_features(entity_df, features).to_arrow()` — Feast's whole
point-in-time join with its result in memory. Not timed: repo setup and `apply`, reading the spine
into the entity DataFrame (Feast takes spines only as DataFrames), one warm-up run.

Prints one JSON line: {"seconds": [...], "rows": n, "nonNull": {feature: n}, "sums": {feature: s},
"sample": [{"entity_id", "event_time" (epoch µs), feature: value}], "peakRssMiB": n, "feast": version}.
"""

import json
import os
import resource
import sys
import time
from datetime import timedelta

import feast
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
from feast import Entity, FeatureStore, FeatureView, Field, FileSource
from feast.types import Float64


def main() -> None:
    args = json.loads(sys.argv[1])
    repo = args["repo"]
    os.makedirs(os.path.join(repo, "data"), exist_ok=True)
    with open(os.path.join(repo, "feature_store.yaml"), "w") as f:
        f.write(
            "project: fti_bench\n"
            "registry: data/registry.db\n"
            "provider: local\n"
            "offline_store:\n"
            "  type: duckdb\n"
            "online_store:\n"
            "  type: sqlite\n"
            "  path: data/online_store.db\n"
            "entity_key_serialization_version: 3\n"
        )
    store = FeatureStore(repo_path=repo)
    entity = Entity(name="entity", join_keys=["entity_id"])
    views = []
    for g in args["groups"]:
        source = FileSource(name=f"{g['name']}_source", path=g["path"], timestamp_field="event_time")
        views.append(
            FeatureView(
                name=g["name"],
                entities=[entity],
                # Zero TTL is Feast's "no limit": any earlier row qualifies, as in the platform's view.
                ttl=timedelta(0),
                schema=[Field(name=c, dtype=Float64) for c in g["features"]],
                source=source,
            )
        )
    store.apply([entity, *views])

    spine = pq.read_table(args["spine"], columns=["entity_id", "event_time"]).to_pandas()
    entity_df = spine.rename(columns={"event_time": "event_timestamp"})
    features = [f"{g['name']}:{c}" for g in args["groups"] for c in g["features"]]

    def run():
        return store.get_historical_features(entity_df=entity_df, features=features).to_arrow()

    run()  # warm-up: file system cache, ibis/duckdb first-use costs
    seconds = []
    table = None
    for _ in range(int(args.get("runs", 3))):
        start = time.perf_counter()
        table = run()
        seconds.append(time.perf_counter() - start)

    names = [c for g in args["groups"] for c in g["features"]]
    non_null = {c: int(len(table) - table[c].null_count) for c in names}
    sums = {c: float(pc.sum(table[c]).as_py() or 0.0) for c in names}
    # A deterministic sample: every k-th row of the result ordered by (entity_id, event time).
    ordered = table.sort_by([("entity_id", "ascending"), ("event_timestamp", "ascending")])
    count = int(args.get("sample", 20))
    step = max(1, len(ordered) // count)
    sample = []
    for i in range(0, len(ordered), step)[:count]:
        row = {c: ordered[c][i].as_py() for c in ["entity_id", *names]}
        ts = pd.Timestamp(ordered["event_timestamp"][i].as_py())
        ts = ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts
        row["event_time"] = int(ts.value // 1000)
        sample.append(row)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": len(table),
                "nonNull": non_null,
                "sums": sums,
                "sample": sample,
                "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "feast": feast.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
