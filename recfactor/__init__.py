"""recfactor: recommender research in the scikit-learn world.

Subpackages are imported on first use (``recfactor.datasets``, ``recfactor.metrics``, ...),
so ``import recfactor`` stays fast and never imports torch, tensorly or numba.
"""

import importlib

__version__ = "0.1.0.dev0"

_SUBPACKAGES = (
    "datasets",
    "decomposition",
    "dummy",
    "feature_selection",
    "knowledge_graph",
    "metrics",
    "model_selection",
    "neighbors",
    "optim",
    "pipeline",
    "preprocessing",
    "sequential",
    "utils",
)

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"recfactor.{name}")
    raise AttributeError(f"module 'recfactor' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
