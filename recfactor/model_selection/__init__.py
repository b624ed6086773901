"""Splitters and protocols for evaluating recommenders.

Cross-validation over users (collaborative filtering) or items (cold start) is
:class:`sklearn.model_selection.KFold` over the rows, scored with
:func:`recfactor.metrics.make_ranking_scorer`. A split in time (:func:`global_temporal_split`,
:func:`leave_last_out`) becomes a ``GridSearchCV`` split through
:class:`sklearn.model_selection.PredefinedSplit`: the training samples stacked over the
validation samples, with the validation targets passed as ``y`` when samples are users.
:func:`cross_validate` and :func:`cross_val_score` are scikit-learn's, also accepting the
sparse item x user ``y`` of the cold-start models (``GridSearchCV`` accepts it as it is).
"""

from ._audit import SplitReport, audit_split, compare_splits, describe_interactions
from ._fold_in import fold_in_split
from ._split import global_temporal_split, leave_last_out
from ._validation import cross_val_score, cross_validate

__all__ = [
    "SplitReport",
    "audit_split",
    "compare_splits",
    "cross_val_score",
    "cross_validate",
    "describe_interactions",
    "fold_in_split",
    "global_temporal_split",
    "leave_last_out",
]
