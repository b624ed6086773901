"""Pipelines whose last step is a recommender, with its verbs on the pipeline itself.

:class:`sklearn.pipeline.Pipeline` exposes ``predict``, ``transform`` and ``score`` of its
last step, but not the methods a recommender adds. :class:`RecommenderPipeline` adds
``recommend`` (``X`` goes through the earlier steps first, as for ``predict``) and
``similar_items`` (item ids are not samples, so they go to the last step as they are), each
available only when the last step has it.
"""

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from sklearn.pipeline import make_pipeline as _make_sklearn_pipeline
from sklearn.utils.metaestimators import available_if

__all__ = ["RecommenderPipeline", "make_pipeline", "recommend_log"]


def _final_step_has(method):
    def check(pipeline):
        # Raises AttributeError, which hides the method, when the last step lacks it.
        getattr(pipeline._final_estimator, method)
        return True

    return check


class RecommenderPipeline(Pipeline):
    """A :class:`sklearn.pipeline.Pipeline` that also recommends.

    Everything :class:`~sklearn.pipeline.Pipeline` does works unchanged (``fit``,
    ``predict``, ``score``, ``get_params``, ``GridSearchCV`` over ``step__param`` names);
    when the last step is a recommender the pipeline also has its ``recommend`` and
    ``similar_items``, so a tuned pipeline (``search.best_estimator_``) serves
    recommendations without being taken apart.

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        As for :class:`~sklearn.pipeline.Pipeline`.
    transform_input : list of str, default=None
        As for :class:`~sklearn.pipeline.Pipeline`.
    memory : str or object with the joblib.Memory interface, default=None
        As for :class:`~sklearn.pipeline.Pipeline`.
    verbose : bool, default=False
        As for :class:`~sklearn.pipeline.Pipeline`.

    See Also
    --------
    make_pipeline : Build one without naming the steps.

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfTransformer
    >>> from recfactor.datasets import make_interactions
    >>> from recfactor.decomposition import PureSVD
    >>> from recfactor.pipeline import RecommenderPipeline
    >>> X = make_interactions(n_users=60, n_items=30, random_state=0)
    >>> pipe = RecommenderPipeline([("tfidf", TfidfTransformer()),
    ...                             ("svd", PureSVD(rank=4, random_state=0))]).fit(X)
    >>> pipe.recommend(X[:2], k=3).shape
    (2, 3)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # A recommender's interaction weights are non-negative, and the weightings put
        # before one (TF-IDF, BM25, normalisation) keep signs: so must be the input.
        final_step = self._final_estimator
        if final_step is not None and final_step != "passthrough":
            tags.input_tags.positive_only |= final_step.__sklearn_tags__().input_tags.positive_only
        return tags

    def _transform_for_final_step(self, X):
        if len(self.steps) == 1:
            return X
        return self[:-1].transform(X)

    @available_if(_final_step_has("recommend"))
    def recommend(self, X, k=10, **recommend_params):
        """Transform ``X`` through every step but the last, then ``recommend`` with the last.

        Parameters
        ----------
        X : iterable
            Samples as the first step takes them (users' interactions, items' features,
            histories).
        k : int, default=10
            Number of recommendations per sample.
        **recommend_params : dict
            Passed to the last step's ``recommend``, for example ``exclude_seen=False``.
            Seen items are those of ``X`` as the last step receives it (a weighting such as
            ``TfidfTransformer`` keeps them; a step that drops entries hides them).

        Returns
        -------
        ids : ndarray of shape (n_samples, k) of int64
            What the last step's ``recommend`` returns.
        """
        return self._final_estimator.recommend(
            self._transform_for_final_step(X), k=k, **recommend_params
        )

    @available_if(_final_step_has("similar_items"))
    def similar_items(self, item_ids, k=10):
        """The last step's ``similar_items``: the ``k`` nearest neighbours of each item.

        Parameters
        ----------
        item_ids : int or array-like of int of shape (n_queries,)
            Items of the last step's catalogue; they do not go through the other steps.
        k : int, default=10
            Number of neighbours per item.

        Returns
        -------
        ids : ndarray of shape (n_queries, k) of int64
        scores : ndarray of shape (n_queries, k)
        """
        return self._final_estimator.similar_items(item_ids, k=k)


def make_pipeline(*steps, **kwargs):
    """Build a :class:`~recfactor.pipeline.RecommenderPipeline`, naming the steps by class.

    :func:`sklearn.pipeline.make_pipeline`, with the recommender verbs on the pipeline.

    Parameters
    ----------
    *steps : list of estimators
        The steps, named after their lowercased class names as scikit-learn does
        (``"puresvd"``, ``"tfidftransformer"``).
    **kwargs : dict
        ``memory``, ``transform_input`` and ``verbose``, as for
        :func:`sklearn.pipeline.make_pipeline`.

    Returns
    -------
    pipeline : RecommenderPipeline

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfTransformer
    >>> from recfactor.datasets import make_interactions
    >>> from recfactor.decomposition import PureSVD
    >>> from recfactor.pipeline import make_pipeline
    >>> X = make_interactions(n_users=60, n_items=30, random_state=0)
    >>> pipe = make_pipeline(TfidfTransformer(), PureSVD(rank=4, random_state=0)).fit(X)
    >>> [name for name, _ in pipe.steps]
    ['tfidftransformer', 'puresvd']
    >>> pipe.recommend(X[:2], k=3).shape
    (2, 3)
    """
    return RecommenderPipeline(**_make_sklearn_pipeline(*steps, **kwargs).get_params(deep=False))


def recommend_log(log, model, item_ids, k=10, *, user_col="user_id", item_col="item_id",
                  value_col=None, exclude_seen=True):
    """Recommendations for the users of an interaction log, as a long table.

    The log's users become the rows of a matrix over the model's items (``item_ids``, the
    columns it was fitted on; items outside it are dropped), ``model.recommend`` ranks them
    in bounded memory, and the result is a table of ``k`` rows per user. It works on any
    part of a log that holds whole users, so a Dask DataFrame partitioned by user is scored
    in parallel, partition by partition, on a cluster (the log comes first for that)::

        recommendations = log.map_partitions(recommend_log, model, item_ids, k,
                                             meta=recommend_log(log._meta, model, item_ids, k))

    Parameters
    ----------
    log : pandas.DataFrame
        Interactions, one per row.
    model : fitted estimator with ``recommend``
        A collaborative model or a :class:`RecommenderPipeline` whose samples are rows of
        a user x item matrix.
    item_ids : array-like of shape (n_items,)
        The raw id of each of the model's items, in order (the vocabulary of
        :func:`~recfactor.preprocessing.log_to_matrix` on the training log).
    k : int, default=10
        Items per user.
    user_col, item_col, value_col : str
        Columns of the log, as for :func:`~recfactor.preprocessing.log_to_matrix`.
    exclude_seen : bool, default=True
        Passed to ``recommend``.

    Returns
    -------
    recommendations : pandas.DataFrame
        Columns ``user_col``, ``"rank"`` (1 is the best) and ``item_col``, sorted by user and
        rank; a user with fewer than ``k`` items left to recommend has fewer rows.

    Examples
    --------
    >>> import pandas as pd
    >>> from recfactor.decomposition import PureSVD
    >>> from recfactor.pipeline import recommend_log
    >>> from recfactor.preprocessing import log_to_matrix
    >>> log = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": ["a", "b", "b", "c", "a"]})
    >>> X, users, items = log_to_matrix(log)
    >>> model = PureSVD(rank=1, random_state=0).fit(X)
    >>> recommend_log(log[log["user_id"] == 3], model, items, k=2)
       user_id  rank item_id
    0        3     1       b
    1        3     2       c
    """
    from .preprocessing import log_to_matrix

    item_ids = np.asarray(item_ids)
    if len(log) == 0:  # an empty partition, or Dask's metadata
        return pd.DataFrame({user_col: log[user_col].to_numpy(),
                             "rank": np.empty(0, dtype=np.int64),
                             item_col: np.empty(0, dtype=item_ids.dtype)})
    X, users, _ = log_to_matrix(log, user_col=user_col, item_col=item_col,
                                value_col=value_col, item_ids=item_ids, handle_unknown="ignore")
    items = model.recommend(X, k=k, exclude_seen=exclude_seen)
    found = items >= 0
    return pd.DataFrame({
        user_col: np.repeat(users, found.sum(axis=1)),
        "rank": np.nonzero(found)[1] + 1,
        item_col: item_ids[items[found]],
    })
