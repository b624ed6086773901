"""Bayesian personalized ranking, by ``implicit``."""

from numbers import Real

import implicit.bpr
import numpy as np
from scipy.linalg import cho_factor, cho_solve
from sklearn.utils._param_validation import Interval

from ._implicit import _ImplicitFactorization

__all__ = ["BPR"]


class BPR(_ImplicitFactorization):
    """Matrix factorization trained for pairwise ranking (Rendle et al., UAI 2009).

    Stochastic gradient ascent on the BPR criterion [1]_: for a sampled user, an item they
    interacted with should score above one they did not. Fitting is done by the ``implicit``
    library (``implicit.bpr.BayesianPersonalizedRanking``), on a GPU when one is available;
    recfactor adds the scikit-learn interface and the fold-in of new users. Only which
    entries of ``X`` are non-zero matters: the weights are ignored.

    Parameters
    ----------
    rank : int, default=64
        Number of latent factors; implicit adds one column for the item bias.
    learning_rate : float, default=0.01
        SGD step size.
    regularization : float, default=0.01
        L2 penalty on the factors, applied at every SGD step.
    max_epochs : int, default=100
        Number of epochs, every one run; an epoch draws as many (user, positive, negative)
        triples as there are interactions.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where implicit trains, as for the torch models: ``"cuda"`` uses implicit's CUDA
        model and raises an error when implicit reports no usable GPU
        (``implicit.gpu.HAS_CUDA``); ``"auto"`` uses it when there is one. The fitted
        factors are NumPy arrays either way, and ``transform`` runs on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seed of the initial factors and of the sampling. With a seed, CPU training runs on
        one thread, because implicit's multi-threaded SGD updates shared item factors
        without locks and so depends on thread timing; without one, it uses every core.
        The same seed then gives the same factors, equal to those of ``implicit`` given that
        seed and ``num_threads=1``. implicit's CUDA kernels promise no such reproducibility.
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
    item_factors_ : ndarray of shape (n_items, rank + 1) of float32
        Item factors as implicit returns them: the last column is the item bias. Items with
        no interaction have all-zero factors.
    user_factors_ : ndarray of shape (n_users, rank + 1) of float32
        Factors of the users of the training matrix; the last column is 1, the weight of the
        item bias.
    n_features_in_ : int
        Number of items.

    See Also
    --------
    ALS : Weighted least squares on all pairs; folds users in exactly.

    Notes
    -----
    implicit offers no fold-in for BPR, so ``transform`` projects each user's binary row
    ``x`` onto the item factors ``F`` (all columns, bias included) by ridge regression:
    ``u = (F^T F + mu I)^-1 F^T x``, with ``mu`` the mean eigenvalue of ``F^T F``
    (``trace(F^T F) / (rank + 1)``), so that rescaling the factors leaves the scores
    unchanged. The weight on the bias column is fitted like the others, because the
    projection lives on the 0/1 scale of ``x`` and a fixed weight of 1 lets the bias swamp
    it. On planted low-rank data this ranks held-out items about as well as retraining BPR
    with the new users included.

    Negative items are drawn as the item of a random interaction, so in proportion to their
    popularity (implicit's sampler), not uniformly as in the paper. ``similar_items``
    compares whole item factors, bias column included, as implicit does.

    References
    ----------
    .. [1] S. Rendle, C. Freudenthaler, Z. Gantner and L. Schmidt-Thieme, "BPR: Bayesian
       Personalized Ranking from Implicit Feedback", Conference on Uncertainty in Artificial
       Intelligence (UAI), 2009.

    Examples
    --------
    >>> from recfactor.datasets import make_interactions
    >>> from recfactor.decomposition import BPR
    >>> X = make_interactions(n_users=100, n_items=50, random_state=0)
    >>> model = BPR(rank=8, max_epochs=20, random_state=0).fit(X)
    >>> model.item_factors_.shape
    (50, 9)
    >>> model.transform(X[:3]).shape
    (3, 9)
    >>> model.recommend(X[:2], k=3).shape
    (2, 3)
    """

    _parameter_constraints = {
        **_ImplicitFactorization._parameter_constraints,
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        rank=64,
        *,
        learning_rate=0.01,
        regularization=0.01,
        max_epochs=100,
        device="auto",
        random_state=None,
        verbose=0,
        factors="deprecated",
        iterations="deprecated",
        use_gpu="deprecated",
    ):
        self.rank = rank
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.max_epochs = max_epochs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.factors = factors
        self.iterations = iterations
        self.use_gpu = use_gpu

    def _implicit_model(self, rank, max_epochs, use_gpu, random_state):
        return implicit.bpr.BayesianPersonalizedRanking(
            factors=rank,
            learning_rate=self.learning_rate,
            regularization=self.regularization,
            iterations=max_epochs,
            use_gpu=use_gpu,
            num_threads=0 if self.random_state is None else 1,
            random_state=random_state,
        )

    def _fold_in(self, X):
        item_factors = self.item_factors_.astype(np.float64)
        gram = item_factors.T @ item_factors
        mean_eigenvalue = np.trace(gram) / gram.shape[0]
        gram.flat[:: gram.shape[0] + 1] += mean_eigenvalue
        projected = X.sign() @ item_factors
        user_factors = cho_solve(cho_factor(gram), projected.T).T
        return user_factors.astype(self.item_factors_.dtype)
