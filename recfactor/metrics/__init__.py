"""Top-k selection and ranking metrics for recommendation and knowledge-graph completion."""

from ._cold_start import cold_start_curve
from ._kg import filtered_ranks, hits_at_k, mrr
from ._ranking import (
    average_popularity,
    coverage_at_k,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    precision_at_k,
    recall_at_k,
)
from ._scorer import make_ranking_scorer
from ._top_k import top_k

__all__ = [
    "average_popularity",
    "cold_start_curve",
    "coverage_at_k",
    "filtered_ranks",
    "hit_rate_at_k",
    "hits_at_k",
    "make_ranking_scorer",
    "map_at_k",
    "mrr",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "recall_at_k",
    "top_k",
]
