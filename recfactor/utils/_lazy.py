"""Module attributes loaded on first use: how a package keeps heavy imports out of its own."""

import importlib


def lazy_attributes(package, lazy, public):
    """``__getattr__`` and ``__dir__`` for a package whose names ``lazy`` load on first use.

    ``lazy`` maps each such name to the submodule (relative to ``package``) defining it;
    ``public`` is the package's ``__all__``.
    """

    def __getattr__(name):
        if name in lazy:
            return getattr(importlib.import_module(lazy[name], package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(public)

    return __getattr__, __dir__
