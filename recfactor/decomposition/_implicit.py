"""What ALS and BPR share: fitting an ``implicit`` model the scikit-learn way."""

import warnings
from numbers import Integral, Real

import implicit.gpu
import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from ..base import UserRecommenderMixin
from ..metrics import top_k
from ..utils import check_interactions
from ..utils._validation import _check_k


def _implicit_random_state(random_state):
    """The seed to hand to implicit for scikit-learn's ``random_state``.

    implicit 0.7.3 fails on a ``RandomState`` instance on the CPU, and on the GPU it reads
    seed 0 as "seed from the clock". Both its CPU and GPU models handle a numpy ``Generator``
    correctly, and on the CPU ``default_rng(seed)`` reproduces what implicit does with the
    int ``seed`` itself.
    """
    if random_state is None:
        return None
    if isinstance(random_state, np.random.RandomState):
        random_state = random_state.randint(np.iinfo(np.int32).max)
    return np.random.default_rng(random_state)


# Names of the first implementation, deprecated in 0.1 and removed in 0.2, and the names
# the rest of recfactor uses for the same things.
_RENAMED = {"factors": "rank", "iterations": "max_epochs", "use_gpu": "device"}
_USE_GPU_AS_DEVICE = {True: "cuda", False: "cpu", "auto": "auto"}


class _ImplicitFactorization(UserRecommenderMixin, TransformerMixin, BaseEstimator):
    """A matrix factorization fitted by ``implicit``, as a scikit-learn estimator.

    A subclass implements ``_implicit_model(rank, max_epochs, use_gpu, random_state)``,
    returning an unfitted implicit model, and ``_fold_in(X)``, returning the user factors of
    the validated CSR rows ``X`` given ``item_factors_``. It may override
    ``_implicit_input(X, use_gpu)``, the matrix handed to the implicit model's ``fit``.
    """

    _parameter_constraints = {
        "rank": [Interval(Integral, 1, None, closed="left")],
        "regularization": [Interval(Real, 0, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "device": [StrOptions({"auto", "cpu", "cuda"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "factors": [Interval(Integral, 1, None, closed="left"), Hidden(StrOptions({"deprecated"}))],
        "iterations": [Interval(Integral, 1, None, closed="left"),
                       Hidden(StrOptions({"deprecated"}))],
        "use_gpu": ["boolean", StrOptions({"auto"}), Hidden(StrOptions({"deprecated"}))],
    }

    def _resolved_parameters(self):
        """``rank``, ``max_epochs`` and ``device``, or what their deprecated names say."""
        resolved = {}
        for old, new in _RENAMED.items():
            value = getattr(self, old)
            if isinstance(value, str) and value == "deprecated":
                resolved[new] = getattr(self, new)
                continue
            warnings.warn(
                f"{type(self).__name__}({old}=...) is deprecated in 0.1 and will be removed in "
                f"0.2: use {new}= instead (the name the other recfactor models use).",
                FutureWarning,
            )
            resolved[new] = _USE_GPU_AS_DEVICE[value] if old == "use_gpu" else value
        return resolved

    @staticmethod
    def _resolve_gpu(device):
        if device == "auto":
            return implicit.gpu.HAS_CUDA
        if device == "cuda" and not implicit.gpu.HAS_CUDA:
            raise ValueError(
                "device='cuda', but implicit cannot use a GPU here: it needs implicit built "
                "with CUDA, the rmm package and a visible GPU. Pass device='auto' or 'cpu' to "
                "train on the CPU."
            )
        return device == "cuda"

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Factorize the interactions with implicit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Interactions.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X = check_interactions(X, estimator=self)
        parameters = self._resolved_parameters()
        use_gpu = self._resolve_gpu(parameters["device"])
        # implicit's own loops are parallel; OpenBLAS threads inside them oversubscribe the
        # cores (implicit warns about it), so BLAS is limited here rather than process-wide.
        with threadpool_limits(1, user_api="blas"):
            model = self._implicit_model(parameters["rank"], parameters["max_epochs"], use_gpu,
                                         _implicit_random_state(self.random_state))
            model.fit(self._implicit_input(X, use_gpu), show_progress=self.verbose > 0)
        if use_gpu:
            model = model.to_cpu()
        self.user_factors_ = model.user_factors
        self.item_factors_ = model.item_factors
        return self

    def _implicit_input(self, X, use_gpu):
        return X

    def transform(self, X):
        """Factors of the users of ``X``, computed from their rows (fold-in).

        Any row is folded in, including those of users seen in ``fit``: samples are users,
        and a row says nothing about which training user it was.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Interactions of known or new users.

        Returns
        -------
        user_factors : ndarray of shape (n_users, n_factors)
            ``n_factors`` is ``item_factors_.shape[1]``.
        """
        return self._fold_in(self._validated_rows(X))

    def similar_items(self, item_ids, k=10):
        """The ``k`` items most similar to each of ``item_ids``, by cosine of item factors.

        Parameters
        ----------
        item_ids : int or array-like of int of shape (n_queries,)
            Items to find neighbours for.
        k : int, default=10
            Number of neighbours per item; an item is never its own neighbour.

        Returns
        -------
        ids : ndarray of shape (n_queries, k) of int64
            Neighbours, most similar first; -1 pads when ``k`` exceeds ``n_items - 1``.
        scores : ndarray of shape (n_queries, k)
            Cosine similarities (``-inf`` for padding); items whose factors are all zero have
            similarity 0 to everything.
        """
        check_is_fitted(self)
        k = _check_k(k)
        item_ids = np.atleast_1d(np.asarray(item_ids))
        n_items = self.item_factors_.shape[0]
        if item_ids.ndim != 1 or item_ids.dtype.kind not in "iu":
            raise ValueError(
                f"item_ids must be an integer or a 1-D array of integers, got dtype "
                f"{item_ids.dtype} and shape {item_ids.shape}."
            )
        outside = (item_ids < 0) | (item_ids >= n_items)
        if outside.any():
            raise ValueError(
                f"item_ids contains {item_ids[outside][0]}, but the model knows {n_items} "
                f"items (ids 0 to {n_items - 1})."
            )
        norms = np.linalg.norm(self.item_factors_, axis=1, keepdims=True)
        unit = self.item_factors_ / np.where(norms > 0, norms, 1)
        itself = sp.csr_matrix(
            (np.ones(item_ids.size), item_ids, np.arange(item_ids.size + 1)),
            shape=(item_ids.size, n_items),
        )
        return top_k(unit[item_ids], k, item_factors=unit, exclude=itself, return_scores=True)

    def _factors(self, X):
        return self._fold_in(X), self.item_factors_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Factors are float32, implicit's precision, whatever the dtype of X.
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
