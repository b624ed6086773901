"""Matrix factorization recommenders."""

from ._als import ALS
from ._bpr import BPR
from ._ease import EASE
from ._fisher_svd import fisher_weighted_svd, kronecker_fisher
from ._hybrid_svd import HybridSVD
from ._pure_svd import PureSVD
from ._weighted_svd import weighted_svd

__all__ = [
    "ALS",
    "BPR",
    "EASE",
    "HybridSVD",
    "PureSVD",
    "fisher_weighted_svd",
    "kronecker_fisher",
    "weighted_svd",
]
