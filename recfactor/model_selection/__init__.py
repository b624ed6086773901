"""Splitters and protocols for evaluating recommenders."""

from ._fold_in import fold_in_split

__all__ = ["fold_in_split"]
