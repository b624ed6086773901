"""Implicit-feedback alternating least squares, by ``implicit``."""

from numbers import Real

import implicit.als
import implicit.cpu.als
import numpy as np
from sklearn.utils._param_validation import Interval
from threadpoolctl import threadpool_limits

from ._implicit import _ImplicitFactorization

__all__ = ["ALS"]


class ALS(_ImplicitFactorization):
    """Weighted matrix factorization for implicit feedback (Hu, Koren & Volinsky, ICDM 2008).

    Every user x item pair is a training example: interacted pairs have preference 1 and
    confidence ``alpha * x_ui``, all others preference 0 and confidence 1. User and item
    factors are found by alternating least squares [1]_, each step solved approximately by a
    few conjugate-gradient iterations [2]_. Fitting is done by the ``implicit`` library
    (``implicit.als.AlternatingLeastSquares``), on a GPU when one is available; recfactor
    adds the scikit-learn interface. Users are samples: a user unseen in ``fit`` is folded
    in by the exact least-squares user step given the item factors.

    Parameters
    ----------
    rank : int, default=64
        Number of latent factors.
    regularization : float, default=0.01
        L2 penalty on the factors.
    alpha : float, default=1.0
        Confidence scale: an interaction of weight ``x_ui`` has confidence ``alpha * x_ui``
        (implicit's convention). The paper's confidence ``1 + a * r_ui`` is ``alpha=1`` with
        weights ``1 + a * r_ui`` in ``X``.
    max_epochs : int, default=15
        Number of ALS sweeps (each updates all users, then all items); every one is run.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where implicit trains, as for the torch models: ``"cuda"`` uses implicit's CUDA
        model and raises an error when implicit reports no usable GPU
        (``implicit.gpu.HAS_CUDA``); ``"auto"`` uses it when there is one. The fitted
        factors are NumPy arrays either way, and ``transform`` runs on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seed of the initial factors. On the CPU, the same seed gives the same factors (and
        the same as ``implicit`` given that seed); implicit's CUDA kernels do not promise
        bitwise reproducibility.
    verbose : int, default=0
        Whether to show implicit's progress bar (any value above 0).
    factors : int, default="deprecated"
        Former name of ``rank``.

        .. deprecated:: 0.1
           Use ``rank``; ``factors`` will be removed in 0.2.
    iterations : int, default="deprecated"
        Former name of ``max_epochs``.

        .. deprecated:: 0.1
           Use ``max_epochs``; ``iterations`` will be removed in 0.2.
    use_gpu : bool or "auto", default="deprecated"
        Former switch for ``device``: ``True`` is ``"cuda"``, ``False`` is ``"cpu"``.

        .. deprecated:: 0.1
           Use ``device``; ``use_gpu`` will be removed in 0.2.

    Attributes
    ----------
    item_factors_ : ndarray of shape (n_items, rank) of float32
        Item factors.
    user_factors_ : ndarray of shape (n_users, rank) of float32
        Factors of the users of the training matrix, as the last ALS sweep left them.
        ``transform`` solves each user's least-squares step exactly, so on those same rows it
        gives factors close to, but not equal to, these.
    n_features_in_ : int
        Number of items.

    See Also
    --------
    BPR : Pairwise ranking loss instead of weighted squared error.
    EASE : Closed-form item-item model, often stronger when the catalogue is small.

    Notes
    -----
    BLAS is limited to one thread while implicit runs (implicit parallelises over users and
    items itself); the limit is set by ``threadpoolctl`` for the duration of the call only.

    implicit 0.7.3's GPU model ignores ``alpha`` while fitting, so on the GPU it is given the
    confidences ``alpha * X`` with ``alpha=1``: both devices fit the same model.

    References
    ----------
    .. [1] Y. Hu, Y. Koren and C. Volinsky, "Collaborative Filtering for Implicit Feedback
       Datasets", IEEE International Conference on Data Mining (ICDM), 2008.
    .. [2] G. Takács, I. Pilászy and D. Tikk, "Applications of the Conjugate Gradient Method
       for Implicit Feedback Collaborative Filtering", ACM RecSys, 2011.

    Examples
    --------
    >>> from recfactor.datasets import make_interactions
    >>> from recfactor.decomposition import ALS
    >>> X = make_interactions(n_users=100, n_items=50, random_state=0)
    >>> model = ALS(rank=8, max_epochs=5, random_state=0).fit(X)
    >>> model.item_factors_.shape
    (50, 8)
    >>> model.transform(X[:3]).shape
    (3, 8)
    >>> model.recommend(X[:2], k=3).shape
    (2, 3)
    >>> ids, scores = model.similar_items([0, 1], k=4)
    >>> ids.shape, scores.shape
    ((2, 4), (2, 4))
    """

    _parameter_constraints = {
        **_ImplicitFactorization._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        rank=64,
        *,
        regularization=0.01,
        alpha=1.0,
        max_epochs=15,
        device="auto",
        random_state=None,
        verbose=0,
        factors="deprecated",
        iterations="deprecated",
        use_gpu="deprecated",
    ):
        self.rank = rank
        self.regularization = regularization
        self.alpha = alpha
        self.max_epochs = max_epochs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.factors = factors
        self.iterations = iterations
        self.use_gpu = use_gpu

    def _implicit_model(self, rank, max_epochs, use_gpu, random_state):
        return implicit.als.AlternatingLeastSquares(
            factors=rank,
            regularization=self.regularization,
            alpha=1.0 if use_gpu else self.alpha,
            iterations=max_epochs,
            use_gpu=use_gpu,
            random_state=random_state,
        )

    def _implicit_input(self, X, use_gpu):
        # implicit 0.7.3's GPU model never applies alpha in fit (its CPU model does), so on
        # the GPU it is given the confidences themselves, scaled in float32 as the CPU does.
        return X.astype(np.float32) * self.alpha if use_gpu else X

    def _fold_in(self, X):
        with threadpool_limits(1, user_api="blas"):
            # implicit's CPU model solves the user step (Cholesky, not the conjugate gradient
            # of fit); it needs only the item factors.
            model = implicit.cpu.als.AlternatingLeastSquares(
                factors=self.item_factors_.shape[1],
                regularization=self.regularization,
                alpha=self.alpha,
                dtype=self.item_factors_.dtype,
            )
            # implicit's kernels take writable buffers even for what they only read, which a
            # model loaded by joblib with mmap_mode does not have.
            model.item_factors = np.require(self.item_factors_, requirements="W")
            return model.recalculate_user(np.arange(X.shape[0]), X)
