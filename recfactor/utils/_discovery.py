"""Discovery of recfactor's public estimators, for the common tests and the docs."""

import importlib
import inspect

from sklearn.base import BaseEstimator

__all__ = ["all_estimators"]

# Subpackages without estimators whose public names import torch (torch optimizers).
_WITHOUT_ESTIMATORS = ("optim",)


def all_estimators():
    """List every public estimator class of recfactor.

    The public names (``__all__``) of every subpackage are searched, so private modules,
    which may import torch, are never imported: this works without torch. Abstract classes
    are left out.

    Returns
    -------
    estimators : list of (str, type)
        Pairs of class name and class, sorted by name.

    Examples
    --------
    >>> from recfactor.utils import all_estimators
    >>> names = [name for name, _ in all_estimators()]
    >>> "PopularityRecommender" in names
    True
    """
    import recfactor

    found = {}
    for subpackage in recfactor._SUBPACKAGES:
        if subpackage in _WITHOUT_ESTIMATORS:
            continue
        module = importlib.import_module(f"recfactor.{subpackage}")
        for name in module.__all__:
            obj = getattr(module, name)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and not inspect.isabstract(obj)
            ):
                found[name] = obj
    return sorted(found.items())
