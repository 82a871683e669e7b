"""Drives an OIP v2 endpoint with the Triton/KServe Python HTTP client (tritonclient[http]).

Usage: python oip-tritonclient.py HOST:PORT MODEL API_KEY FEATURES_JSON KEY_NAME KEYS_JSON
Prints one JSON object: health, readiness and metadata as the client reads them, and the answers
to three infer calls: a features tensor in the binary extension (the client's default, sent with
no Content-Type), the same tensor as JSON, and entity keys (INT64).
"""
import json
import sys

import numpy as np
import tritonclient.http as http

url, model, key, features, key_name, keys = sys.argv[1:7]
client = http.InferenceServerClient(url=url)
auth = {"Authorization": f"Bearer {key}"}


def headers():
    # A fresh dict per call: the client adds Inference-Header-Content-Length to the one it is given.
    return dict(auth)


X = np.array(json.loads(features), dtype=np.float32)
out = {
    "live": client.is_server_live(),
    "ready": client.is_model_ready(model, headers=headers()),
    "metadata": client.get_model_metadata(model, headers=headers()),
}


def answer(result):
    labels = result.as_numpy("label")
    return {
        "label": [v.decode() if isinstance(v, bytes) else str(v) for v in labels.tolist()],
        "probabilities": result.as_numpy("probabilities").tolist(),
        "response": result.get_response(),
    }


binary = http.InferInput("features", list(X.shape), "FP32")
binary.set_data_from_numpy(X)  # binary_data=True: the binary tensor extension
out["binary"] = answer(client.infer(model, [binary], headers=headers()))

plain = http.InferInput("features", list(X.shape), "FP32")
plain.set_data_from_numpy(X, binary_data=False)
wanted = [http.InferRequestedOutput(n, binary_data=False) for n in ("label", "probabilities")]
out["json"] = answer(client.infer(model, [plain], outputs=wanted, headers=headers()))

ids = np.array(json.loads(keys), dtype=np.int64)
by_key = http.InferInput(key_name, [len(ids)], "INT64")
by_key.set_data_from_numpy(ids)
out["keys"] = answer(client.infer(model, [by_key], headers=headers(), request_id="triton-keys"))
print(json.dumps(out))
