"""Matrix factorization recommenders."""

from ._pure_svd import PureSVD

__all__ = ["PureSVD"]
