"""Reads a batch-inference predictions file as a pandas user would and checks it against Python's own
predict_proba. Usage: read-predictions.py PREDICTIONS.parquet EXPECTED.json
  EXPECTED.json: {"customers": [...], "p1": [...]} (positive-class probability per customer)
Prints one JSON line: dtypes, rows and the largest difference from predict_proba.
"""
import json
import sys

import pandas as pd
import pyarrow.parquet as pq

path, expected_path = sys.argv[1], sys.argv[2]
expected = json.loads(open(expected_path).read())
schema = pq.read_schema(path)
frame = pd.read_parquet(path, dtype_backend="numpy_nullable")
keys = frame["entity"].map(lambda e: json.loads(e)["customer_id"])
score = dict(zip(keys, frame["score"]))
diff = max(abs(score[c] - p) for c, p in zip(expected["customers"], expected["p1"]))
print(
    json.dumps(
        {
            "rows": len(frame),
            "event_time_arrow": str(schema.field("event_time").type),
            "event_time_pandas": str(frame["event_time"].dtype),
            "model_version_pandas": str(frame["model_version"].dtype),
            "score_pandas": str(frame["score"].dtype),
            "max_diff": diff,
        }
    )
)
