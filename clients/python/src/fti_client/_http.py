"""JSON over HTTP with the standard library: the client's only transport."""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import urllib.error
import urllib.parse
import urllib.request
from typing import IO, Any, Dict, Mapping, Optional

from .errors import FtiApiError, FtiConnectionError, error_for

USER_AGENT = "fti-client/0.1.0"


def segment(value: str) -> str:
    """A path segment, percent-encoded (names are checked by the service; this keeps them one segment)."""
    return urllib.parse.quote(str(value), safe="")


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON: times as ISO-8601 (naive ones taken as UTC), NaN/NaT/NA as null,
    numpy and pandas scalars as Python numbers."""
    if value is None or isinstance(value, (str, bool)):
        return value
    # pandas' missing markers (NaT is also a datetime), without importing pandas.
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, int):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    # numpy and pandas scalars, without importing them.
    iso = getattr(value, "isoformat", None)
    to_pydatetime = getattr(value, "to_pydatetime", None)
    if callable(to_pydatetime):
        return jsonable(to_pydatetime())
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and getattr(value, "ndim", 0) > 0:  # arrays
        return jsonable(tolist())
    item = getattr(value, "item", None)
    if callable(item):  # numpy scalars
        return jsonable(item())
    if callable(iso):
        return iso()
    raise TypeError(f"cannot send a value of type {type(value).__name__} as JSON")


class Transport:
    """Sends JSON requests to the service with the API key and turns error answers into exceptions."""

    def __init__(self, url: str, api_key: Optional[str], timeout: float) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        timeout: Optional[float] = None,
    ) -> Any:
        """The decoded JSON answer; raises an :class:`FtiApiError` subclass for 4xx/5xx answers.

        ``timeout`` overrides the client's for calls that do real work on the server (imports).
        """
        params = {k: str(v) for k, v in (query or {}).items() if v is not None}
        url = self.url + path + (f"?{urllib.parse.urlencode(params)}" if params else "")
        headers = {"accept": "application/json", "user-agent": USER_AGENT}
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        data = None
        if body is not None:
            data = json.dumps(jsonable(body), allow_nan=False).encode("utf-8")
            headers["content-type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            raise self._error(error, method, path) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise FtiConnectionError(f"cannot reach the FTI service at {self.url}: {reason}") from error
        return json.loads(payload) if payload else None

    @staticmethod
    def _error(error: urllib.error.HTTPError, method: str, path: str) -> FtiApiError:
        raw = error.read()
        body: Optional[Dict[str, Any]] = None
        try:
            decoded = json.loads(raw) if raw else None
            if isinstance(decoded, dict):
                body = decoded
        except ValueError:
            pass
        message = str(body.get("error")) if body and "error" in body else f"{error.reason}"
        return error_for(error.code, message, method=method, path=path, body=body)


def download(url: str, out: IO[bytes], *, timeout: float, what: str) -> None:
    """Streams a presigned URL into ``out``. No API key is sent: the URL carries its own signature."""
    request = urllib.request.Request(url, headers={"user-agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            shutil.copyfileobj(response, out, length=1 << 20)
    except urllib.error.HTTPError as error:
        hint = " (the URL expired: ask for a new one)" if error.code == 403 else ""
        raise FtiApiError(
            error.code,
            f"the object store refused the download of {what}{hint}",
            method="GET",
            path=what,
        ) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise FtiConnectionError(f"cannot download {what} from the object store: {reason}") from error
