"""Optimizers for PyTorch models: :class:`AdaGram`, low-rank full-matrix AdaGrad.

The optimizers subclass ``torch.optim.Optimizer``. They are loaded on first use, so
``import recfactor.optim`` does not import torch.
"""

import importlib

__all__ = ["AdaGram"]

_LAZY = {"AdaGram": "._adagram"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
