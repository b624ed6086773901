"""Validation, Numba and PyTorch helpers, and estimator discovery.

``njit`` and ``numba_threads`` are loaded on first use so that importing the validation
helpers does not import numba.
"""

import importlib

from ._discovery import all_estimators
from ._torch import import_torch, resolve_device
from ._validation import (
    check_interactions,
    check_rated_histories,
    check_sequences,
    check_triples,
)

__all__ = [
    "all_estimators",
    "check_interactions",
    "check_rated_histories",
    "check_sequences",
    "check_triples",
    "import_torch",
    "njit",
    "numba_threads",
    "resolve_device",
]

_LAZY = {"njit": "._numba", "numba_threads": "._numba"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
