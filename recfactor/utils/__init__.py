"""Validation, Numba and PyTorch helpers, and estimator discovery.

``njit`` and ``numba_threads`` are loaded on first use so that importing the validation
helpers does not import numba.
"""

from ._discovery import all_estimators
from ._lazy import lazy_attributes
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

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)
