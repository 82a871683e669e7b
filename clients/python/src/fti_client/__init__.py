"""Python client of the FTI Platform's REST API.

>>> from fti_client import FeatureStore
>>> fs = FeatureStore("http://127.0.0.1:8080", api_key="fti_...")
>>> view = fs.get_feature_view("churn")
>>> train = fs.get_training_data(view, split="train")          # pandas DataFrame
>>> fs.get_online_features(view, [{"customer_id": 4}])
>>> fs.predict("churn", [{"customer_id": 4}])
>>> fs.push("customers", [{"customer_id": 4, "updated_at": "2026-03-01T12:00:00Z", "age": 41}])

Importing the package imports only the standard library; pandas and pyarrow are loaded when a
DataFrame is made. ``fti_client.trainers`` holds standalone external-trainer programs.
"""

from .errors import (
    AuthenticationError,
    BadRequestError,
    FtiApiError,
    FtiConnectionError,
    FtiError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
    UnprocessableError,
)
from .feature_store import (
    Feature,
    FeatureGroup,
    FeatureStore,
    FeatureVector,
    FeatureView,
    SplitDownload,
    TrainingDataset,
)
from .frames import table_to_pandas

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "Feature",
    "FeatureGroup",
    "FeatureStore",
    "FeatureVector",
    "FeatureView",
    "FtiApiError",
    "FtiConnectionError",
    "FtiError",
    "NotFoundError",
    "PermissionDeniedError",
    "ServiceUnavailableError",
    "SplitDownload",
    "TrainingDataset",
    "UnprocessableError",
    "table_to_pandas",
]
