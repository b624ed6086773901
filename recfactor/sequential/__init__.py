"""Transformer recommenders of the next item: SASRec, BERT4Rec, PNFRec.

Samples are user histories, oldest first: item ids for :class:`SASRec` and
:class:`BERT4Rec`, ``(item_id, rating)`` rows for :class:`PNFRec`. The networks need
PyTorch, which is imported only when a model is fitted or used, so this package imports
without it.
"""

from ._bert4rec import BERT4Rec
from ._pnfrec import PNFRec
from ._sasrec import SASRec

__all__ = ["BERT4Rec", "PNFRec", "SASRec"]
