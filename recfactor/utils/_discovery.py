"""Discovery of recfactor's public estimators, for the common tests and the docs."""

import importlib
import inspect
import pkgutil

from sklearn.base import BaseEstimator

__all__ = ["all_estimators"]


def all_estimators():
    """List every public estimator class of recfactor.

    Every module of the package is imported (torch-backed modules import torch only when a
    model is fitted, so this works without torch). Classes whose name starts with ``_`` and
    abstract classes are left out.

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
    for module_info in pkgutil.walk_packages(recfactor.__path__, prefix="recfactor."):
        parts = module_info.name.split(".")
        if "tests" in parts or parts[-1] == "__main__":
            continue
        module = importlib.import_module(module_info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, BaseEstimator)
                and cls.__module__.startswith("recfactor.")
                and not name.startswith("_")
                and not inspect.isabstract(cls)
            ):
                found[name] = cls
    return sorted(found.items())
