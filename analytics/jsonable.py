"""Turning numpy, pandas and date values into plain JSON, for the JSON columns of runs and model
versions."""

from __future__ import annotations

import json
from typing import Any


def jsonable(value: Any) -> Any:
    """Plain JSON types only (numpy scalars and arrays, dates, NaN become numbers, lists, strings, null)."""

    def convert(obj: Any) -> Any:
        if hasattr(obj, "tolist"):
            return obj.tolist()
        if hasattr(obj, "isoformat"):
            return obj.isoformat()
        return str(obj)

    text = json.dumps(value, default=convert, allow_nan=True)
    return json.loads(text.replace("NaN", "null").replace("-Infinity", "null").replace("Infinity", "null"))
