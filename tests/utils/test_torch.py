import builtins
import pickle
import subprocess
import sys

import pytest
from sklearn.base import BaseEstimator

from recfactor.utils import import_torch, resolve_device
from recfactor.utils._torch import TorchEstimatorMixin


def test_import_torch_missing_gives_install_hint(monkeypatch):
    real_import = builtins.__import__

    def fail_on_torch(name, *args, **kwargs):
        if name == "torch":
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setattr(builtins, "__import__", fail_on_torch)
    with pytest.raises(ImportError, match=r"pip install torch==2\.13\.0"):
        import_torch()


def test_import_recfactor_does_not_import_heavy_modules():
    code = (
        "import sys, recfactor, recfactor.utils, recfactor.preprocessing; "
        "print(sorted(m for m in ('torch', 'numba', 'tensorly', 'implicit') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_resolve_device():
    torch = pytest.importorskip("torch")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    with pytest.raises(ValueError, match="device must be 'auto'"):
        resolve_device("gpu0")
    with pytest.raises(TypeError, match="device must be a string"):
        resolve_device(0)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


# --- the training core -----------------------------------------------------------------

class _TorchEstimator(TorchEstimatorMixin, BaseEstimator):
    """The smallest torch estimator: what the mixin gives, and a 2 x 2 linear module."""

    _torch_modules = ("module_",)

    def _build_module(self, name):
        import torch

        return torch.nn.Linear(2, 2)


def _scripted_run(scores, *, max_epochs, eval_every=1, patience=None, losses=None):
    """``train_epochs`` on a one-weight module whose weight is the epoch number, with the
    validation scores read from ``scores`` (the first before training)."""
    torch = pytest.importorskip("torch")
    from recfactor.utils._torch import train_epochs

    module = torch.nn.Linear(1, 1, bias=False).requires_grad_(False)
    module.weight.fill_(0.0)
    scripted = iter(scores or [])
    epoch_losses = iter(losses if losses is not None else [1.0] * max_epochs)

    def run_epoch():
        assert module.training
        module.weight.add_(1.0)
        return next(epoch_losses)

    history = train_epochs(module, run_epoch, max_epochs=max_epochs,
                           validate=(lambda: next(scripted)) if scores is not None else None,
                           eval_every=eval_every, patience=patience)
    return history, module.weight.item()


def test_train_epochs_stops_after_patience_evaluations_and_keeps_the_best():
    history, weight = _scripted_run([0.1, 0.3, 0.5, 0.4, 0.45, 0.2, 0.9], max_epochs=10,
                                    patience=3)
    # Best after epoch 2; epochs 3, 4 and 5 do not improve on it: the loop stops after 5.
    assert history.validation_scores == [0.1, 0.3, 0.5, 0.4, 0.45, 0.2]
    assert len(history.losses) == 5
    assert history.best_epoch == 2 and history.best_score == 0.5
    assert weight == 2.0  # the parameters after epoch 2, restored


def test_train_epochs_evaluates_every_eval_every_epochs_from_epoch_zero():
    history, weight = _scripted_run([0.5, 0.1, 0.2, 0.3], max_epochs=7, eval_every=2,
                                    patience=2)
    # Evaluations at epochs 0, 2, 4: two without gain after epoch 0 stop after epoch 4.
    assert history.validation_scores == [0.5, 0.1, 0.2]
    assert len(history.losses) == 4
    assert history.best_epoch == 0 and weight == 0.0  # nothing beat the start


def test_train_epochs_without_patience_runs_every_epoch():
    history, weight = _scripted_run([0.5] + [0.1] * 6, max_epochs=6)
    assert len(history.losses) == 6 and len(history.validation_scores) == 7
    assert history.best_epoch == 0 and weight == 0.0


def test_train_epochs_without_validation_keeps_the_last_epoch():
    history, weight = _scripted_run(None, max_epochs=4, losses=[4.0, 3.0, 2.0, 1.0])
    assert history.losses == [4.0, 3.0, 2.0, 1.0]
    assert history.validation_scores is None and history.best_score is None
    assert history.best_epoch == 4 and weight == 4.0


def test_train_epochs_rejects_a_non_finite_loss():
    with pytest.raises(ValueError, match="loss became nan at epoch 2; lower learning_rate"):
        _scripted_run(None, max_epochs=4, losses=[1.0, float("nan"), 1.0, 1.0])


def test_seeded_fit_is_deterministic_and_restores_the_callers_generator():
    torch = pytest.importorskip("torch")
    from recfactor.utils._torch import seeded_fit

    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    draws = []
    for _ in range(2):
        with seeded_fit(7, torch.device("cpu")) as (rng, seed):
            draws.append((torch.rand(2), rng.randint(100), seed))
    torch.testing.assert_close(draws[0][0], draws[1][0])
    assert draws[0][1:] == draws[1][1:]
    torch.testing.assert_close(torch.rand(3), expected_next)


def test_torch_estimators_pickle_their_modules_and_fitted_history():
    torch = pytest.importorskip("torch")
    from recfactor.utils._torch import TrainingHistory

    estimator = _TorchEstimator()
    estimator.module_ = torch.nn.Linear(2, 2)
    history = TrainingHistory(validated=True)
    history.losses, history.validation_scores = [1.0], [0.1, 0.2]
    history.best_score, history.best_epoch = 0.2, 1
    estimator._record_training(history)
    state = estimator.__getstate__()
    # The file holds the weights as arrays, no torch object.
    assert set(state["module_"]) == {"weight", "bias"}
    assert all(type(array).__module__ == "numpy" for array in state["module_"].values())
    restored = pickle.loads(pickle.dumps(estimator))
    torch.testing.assert_close(restored.module_.weight, estimator.module_.weight)
    assert not restored.module_.training and restored.module_.weight.device.type == "cpu"
    assert (restored.n_iter_, restored.loss_curve_, restored.validation_scores_,
            restored.best_validation_score_, restored.best_epoch_) == (1, [1.0], [0.1, 0.2],
                                                                       0.2, 1)


def test_make_optimizer_builds_the_optimizer_named():
    torch = pytest.importorskip("torch")
    from recfactor.optim import AdaGram
    from recfactor.utils._torch import make_optimizer

    parameters = [torch.nn.Parameter(torch.zeros(3))]
    adam = make_optimizer("adam", parameters, 0.1, betas=(0.9, 0.98))
    assert isinstance(adam, torch.optim.Adam) and adam.defaults["betas"] == (0.9, 0.98)
    assert isinstance(make_optimizer("adagrad", parameters, 0.1), torch.optim.Adagrad)
    # Adam's own options (the KG models' fused kernel) are Adam's only.
    adagram = make_optimizer("adagram", parameters, 0.1, fused=True)
    assert isinstance(adagram, AdaGram) and adagram.defaults["lr"] == 0.1
