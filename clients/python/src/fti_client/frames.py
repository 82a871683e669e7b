"""Parquet as the platform writes it → pandas, keeping what the values mean.

The platform stores times in UTC without a zone (Parquet ``TIMESTAMP`` not adjusted to UTC), and
integer and boolean columns may hold nulls. Read naively, pandas would give naive timestamps, turn
an int column with a null into float64 (7 reads back as 7.0, and values above 2**53 lose
precision) and a bool column with a null into object. :func:`table_to_pandas` gives tz-aware UTC
timestamps and nullable ``Int64``/``Int32``/``boolean`` columns instead (or Arrow-backed columns
with ``dtype_backend="pyarrow"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Literal, Optional

if TYPE_CHECKING:  # imported lazily: `import fti_client` must stay cheap
    import pandas as pd
    import pyarrow as pa

DtypeBackend = Literal["numpy_nullable", "pyarrow"]


def table_to_pandas(table: "pa.Table", dtype_backend: DtypeBackend = "numpy_nullable") -> "pd.DataFrame":
    """An Arrow table as a DataFrame: naive timestamps become tz-aware UTC (the platform writes UTC),
    integers and booleans keep their nulls (pandas nullable dtypes, or ``pd.ArrowDtype`` with
    ``dtype_backend="pyarrow"``), floats stay float64 with NaN for null, text stays ``object``."""
    import pandas as pd
    import pyarrow as pa

    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is None:
            table = table.set_column(i, field.name, table.column(i).cast(pa.timestamp(field.type.unit, tz="UTC")))
    mapper: Optional[Callable[[Any], Any]]
    if dtype_backend == "pyarrow":
        mapper = pd.ArrowDtype
    elif dtype_backend == "numpy_nullable":
        nullable: Dict[Any, Any] = {
            pa.int8(): pd.Int8Dtype(),
            pa.int16(): pd.Int16Dtype(),
            pa.int32(): pd.Int32Dtype(),
            pa.int64(): pd.Int64Dtype(),
            pa.uint8(): pd.UInt8Dtype(),
            pa.uint16(): pd.UInt16Dtype(),
            pa.uint32(): pd.UInt32Dtype(),
            pa.uint64(): pd.UInt64Dtype(),
            pa.bool_(): pd.BooleanDtype(),
        }
        mapper = nullable.get
    else:
        raise ValueError(f'dtype_backend must be "numpy_nullable" or "pyarrow", not {dtype_backend!r}')
    return table.to_pandas(types_mapper=mapper)
