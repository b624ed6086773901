"""Neighbourhood recommenders."""

from ._content_knn import ContentKNN

__all__ = ["ContentKNN"]
