"""Data sets: loaders of real data (``load_*``, ``fetch_*``) and synthetic generators (``make_*``).

``load_*`` read from :func:`get_data_home` (the embedded MovieLens ml-latest-small needs no
folder); ``fetch_*`` download what is missing first; ``make_*`` plant known structure.
"""

from ._base import get_data_home
from ._knowledge_graph import fetch_knowledge_graph, load_knowledge_graph
from ._movielens import fetch_movielens, load_movielens
from ._samples_generator import make_interactions, make_item_features, make_sequences, make_triples
from ._sequences import fetch_sequences, load_sequences

__all__ = [
    "fetch_knowledge_graph",
    "fetch_movielens",
    "fetch_sequences",
    "get_data_home",
    "load_knowledge_graph",
    "load_movielens",
    "load_sequences",
    "make_interactions",
    "make_item_features",
    "make_sequences",
    "make_triples",
]
