"""Drives an OIP v2 endpoint with KServe's Python REST client (kserve.InferenceRESTClient).

Usage: python oip-kserve.py BASE_URL MODEL API_KEY FEATURES_JSON
Prints one JSON object: liveness and model readiness as the client reads them, and the outputs of
the same features tensor sent as JSON and in the binary tensor extension.
"""
import asyncio
import json
import sys

import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig

base, model, key, features = sys.argv[1:5]
X = np.array(json.loads(features), dtype=np.float32)


async def main():
    client = InferenceRESTClient(config=RESTConfig(protocol="v2", retries=0, timeout=30))
    headers = {"Authorization": f"Bearer {key}"}
    out = {
        "live": await client.is_server_live(base, headers=headers),
        "ready": await client.is_model_ready(base, model, headers=headers),
    }
    for mode, binary in (("json", False), ("binary", True)):
        tensor = InferInput(name="features", shape=list(X.shape), datatype="FP32")
        tensor.set_data_from_numpy(X, binary_data=binary)
        request = InferRequest(model_name=model, infer_inputs=[tensor], request_id=f"kserve-{mode}")
        response = await client.infer(base, request, model_name=model, headers=headers)
        out[mode] = {
            o.name: [v.decode() if isinstance(v, bytes) else v for v in o.as_numpy().tolist()]
            if o.datatype == "BYTES"
            else o.as_numpy().tolist()
            for o in response.outputs
        }
    await client.close()
    print(json.dumps(out))


asyncio.run(main())
