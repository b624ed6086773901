"""Optimizers for PyTorch models: :class:`AdaGram`, low-rank full-matrix AdaGrad.

The optimizers subclass ``torch.optim.Optimizer``. They are loaded on first use, so
``import recfactor.optim`` does not import torch.
"""

from ..utils._lazy import lazy_attributes

__all__ = ["AdaGram"]

_LAZY = {"AdaGram": "._adagram"}

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)
