"""Keep pandas out of the crawler process.

pyarrow asks once per process whether pandas is installed, on its first conversion of a
Python list, by importing it: only to check that the list is not a pandas object. In the
crawler that import costs 50 MB of resident memory (about 350 modules) and buys nothing:
the writers hand pyarrow plain lists. :func:`answer_pandas_probe` lets pyarrow ask while
``import pandas`` fails, so it records "no pandas" and never asks again. ``import pandas``
works again as soon as it returns, and pyarrow's own pandas conversions
(``Table.to_pandas``) still import it when called.
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

import pyarrow as pa

_LOCK = threading.Lock()


class _NoPandas(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname == "pandas" or fullname.startswith("pandas."):
            raise ImportError("pandas kept out of the crawler process", name=fullname)
        return None


def answer_pandas_probe() -> None:
    """Make pyarrow's one-off pandas probe (if it has not run yet) find no pandas."""
    with _LOCK:
        if "pandas" in sys.modules:
            return  # imported already: the probe finds it, whatever we do
        finder = _NoPandas()
        sys.meta_path.insert(0, finder)
        try:
            pa.array([0])  # the first list conversion runs the probe
        finally:
            sys.meta_path.remove(finder)
