"""The torch core of every torch estimator: import, device, seeding, epochs and pickling.

torch is an optional dependency, imported only when a model needs it: nothing here imports
it at module level.
"""

import contextlib
import copy
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from tqdm.auto import tqdm

__all__ = ["import_torch", "resolve_device"]

_INSTALL_HINT = (
    "Install the CPU build with `pip install torch==2.13.0`, or the CUDA build that matches "
    "your driver (see https://pytorch.org/get-started/locally/), then "
    "`pip install recfactor[torch]`."
)


def import_torch():
    """Return the ``torch`` module, or raise an ImportError that says how to install it."""
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            f"This part of recfactor needs PyTorch, which is not installed. {_INSTALL_HINT}"
        ) from exc
    return torch


def resolve_device(device="auto"):
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a ``torch.device`` into a device.

    ``"auto"`` picks CUDA when it is available and the CPU otherwise. Asking for CUDA on a
    machine without it is an error rather than a silent fall-back to the CPU.

    Examples
    --------
    >>> from recfactor.utils import resolve_device
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    torch = import_torch()
    if isinstance(device, torch.device):
        resolved = device
    elif isinstance(device, str):
        if device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            resolved = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(
                f"device must be 'auto', 'cpu', 'cuda' or 'cuda:<index>', got {device!r}."
            ) from exc
    else:
        raise TypeError(
            f"device must be a string or a torch.device, got {type(device).__name__}."
        )
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on this machine; "
                "use device='auto' to fall back to the CPU."
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but only {torch.cuda.device_count()} CUDA "
                "device(s) exist."
            )
    return resolved


@contextlib.contextmanager
def seeded_fit(random_state, device):
    """Seed torch from ``random_state`` for the duration of a fit.

    Yields ``(rng, seed)``: the NumPy ``RandomState`` of ``random_state`` (for the fit's
    own draws) and the seed drawn from it for torch. The caller's global torch RNG state
    (of the CPU and of ``device``) is restored afterwards, so fitting a model never changes
    what the user's own torch code draws next.
    """
    torch = import_torch()
    rng = check_random_state(random_state)
    seed = int(rng.randint(np.iinfo(np.int32).max))
    if device.type == "cuda":
        devices = [torch.cuda.current_device() if device.index is None else device.index]
    else:
        devices = []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield rng, seed


# The early-stopping hyper-parameters of every torch estimator, with one meaning each:
# validation before training and every ``eval_every`` epochs, a stop after ``patience``
# evaluations without improvement (never with None), the best evaluated parameters kept.
EPOCH_CONSTRAINTS = {
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "eval_every": [Interval(Integral, 1, None, closed="left")],
    "patience": [Interval(Integral, 1, None, closed="left"), None],
}


# The optimizer choice of every torch estimator; ``learning_rate`` is the chosen one's ``lr``.
OPTIMIZER_CONSTRAINTS = {"optimizer": [StrOptions({"adam", "adagrad", "adagram"})]}


def make_optimizer(name, parameters, learning_rate, **adam_options):
    """The optimizer ``name`` of an estimator's ``optimizer`` hyper-parameter.

    ``"adam"`` is ``torch.optim.Adam`` with ``adam_options`` (the model's betas, or
    ``fused``), ``"adagrad"`` is ``torch.optim.Adagrad`` and ``"adagram"`` is
    :class:`recfactor.optim.AdaGram`, the last two with their own defaults besides ``lr``.
    """
    torch = import_torch()
    if name == "adam":
        return torch.optim.Adam(parameters, lr=learning_rate, **adam_options)
    if name == "adagrad":
        return torch.optim.Adagrad(parameters, lr=learning_rate)
    from ..optim import AdaGram

    return AdaGram(parameters, lr=learning_rate)


def module_weights(module):
    """The ``state_dict`` of ``module`` as NumPy arrays on the CPU."""
    return {key: tensor.detach().cpu().numpy() for key, tensor in module.state_dict().items()}


def load_module_weights(module, weights, *, assign=False):
    """Load arrays of :func:`module_weights` into ``module`` (``assign``: as its tensors)."""
    torch = import_torch()
    module.load_state_dict({key: torch.from_numpy(np.array(array))
                            for key, array in weights.items()}, assign=assign)
    return module


def train_in_processes(estimator, module_name, n_processes, payload):
    """Train ``estimator`` in ``n_processes`` processes joined by a torch.distributed
    process group; load the result into its attribute ``module_name``.

    Process ``rank`` calls ``estimator._train_process(rank, n_processes, payload)``, with
    ``payload["device"]`` made its own (GPU ``rank`` on CUDA) and torch seeded from
    ``payload["seed"] + rank`` (the same start everywhere, the pickled module; a dropout of
    each process's own), and returns the TrainingHistory. The processes are started with
    ``torch.multiprocessing`` ("spawn": each imports recfactor afresh and receives the
    estimator pickled, its modules as weights) and talk over TCP on the loopback
    interface: ``gloo`` on the CPU, ``nccl`` on CUDA. Each gets an equal share of the
    caller's torch threads. Rank 0 hands its module's weights and its history back in a
    pickle file, read once all have ended (a pipe could fill while the caller waits for the
    processes to end).

    Returns
    -------
    history : TrainingHistory
    """
    torch = import_torch()
    import pickle
    import socket
    import tempfile
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    threads = max(1, torch.get_num_threads() // n_processes)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "result.pickle"
        torch.multiprocessing.start_processes(
            _process_main,
            args=(n_processes, port, threads, estimator, module_name, payload, path),
            nprocs=n_processes, join=True, start_method="spawn",
        )
        weights, history = pickle.loads(path.read_bytes())
    load_module_weights(getattr(estimator, module_name), weights)
    return history


def _process_main(rank, n_processes, port, threads, estimator, module_name, payload, path):
    import pickle

    import torch
    import torch.distributed as dist

    torch.set_num_threads(threads)
    device = payload["device"]
    if device.type == "cuda":
        device = torch.device("cuda", rank)
    torch.manual_seed(payload["seed"] + rank)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo",
                            init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=n_processes)
    try:
        history = estimator._train_process(rank, n_processes, {**payload, "device": device})
        if rank == 0:
            weights = module_weights(getattr(estimator, module_name))
            path.write_bytes(pickle.dumps((weights, history)))
    finally:
        dist.destroy_process_group()


def broadcast_from_first(value):
    """``value`` of process 0, in every process of the group (a picklable object)."""
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def mean_over_processes(value):
    """The mean of a float over the processes of the group."""
    import torch
    import torch.distributed as dist

    total = torch.tensor([float(value)], dtype=torch.float64)
    dist.all_reduce(total)
    return total.item() / dist.get_world_size()


class TrainingHistory:
    """What :func:`train_epochs` did.

    Attributes
    ----------
    losses : list of float
        Mean training loss of each epoch run.
    validation_scores : list of float or None
        Validation score before training and after every ``eval_every`` epochs (epochs 0,
        ``eval_every``, ``2 * eval_every``...); None without validation.
    best_score : float or None
        Best of ``validation_scores``.
    best_epoch : int
        Epoch whose parameters were kept (0: those before training); the last epoch
        without validation.
    """

    def __init__(self, validated):
        self.losses = []
        self.validation_scores = [] if validated else None
        self.best_score = None
        self.best_epoch = None


def train_epochs(module, run_epoch, *, max_epochs, validate=None, eval_every=1, patience=None,
                 verbose=0, description="", metric="valid"):
    """The epoch loop of every torch estimator: epochs, validation, early stopping, progress.

    Parameters
    ----------
    module : nn.Module
        What is trained; its best evaluated parameters are restored at the end.
    run_epoch : callable
        ``run_epoch()`` trains one epoch and returns its mean loss.
    max_epochs : int
    validate : callable, default=None
        ``validate()`` returns the validation score, higher is better.
    eval_every, patience : int
        See :data:`EPOCH_CONSTRAINTS`; ``patience=None`` never stops early.
    verbose : int
        A tqdm bar over the epochs, with the loss and the last validation score.
    description, metric : str
        The bar's title and the name of the validation score on it.

    Returns
    -------
    history : TrainingHistory

    Raises
    ------
    ValueError
        When an epoch's loss is not finite.
    """
    history = TrainingHistory(validated=validate is not None)
    best_state = None
    evaluations_without_improvement = 0

    def evaluate(epoch):
        nonlocal best_state, evaluations_without_improvement
        score = validate()
        history.validation_scores.append(score)
        if history.best_score is None or score > history.best_score:
            history.best_score, history.best_epoch = score, epoch
            best_state = copy.deepcopy(module.state_dict())
            evaluations_without_improvement = 0
        else:
            evaluations_without_improvement += 1
        return score

    if validate is not None:
        evaluate(0)
    progress = tqdm(range(1, max_epochs + 1), desc=description, unit="epoch",
                    disable=not verbose)
    for epoch in progress:
        module.train()
        loss = run_epoch()
        if not np.isfinite(loss):
            raise ValueError(
                f"The training loss became {loss} at epoch {epoch}; lower learning_rate."
            )
        history.losses.append(loss)
        postfix = {"loss": f"{loss:.4g}"}
        if validate is not None and epoch % eval_every == 0:
            postfix[metric] = f"{evaluate(epoch):.4f}"
        progress.set_postfix(postfix)
        if patience is not None and evaluations_without_improvement >= patience:
            break
    progress.close()
    if best_state is None:
        history.best_epoch = len(history.losses)
    else:
        module.load_state_dict(best_state)
    module.eval()
    return history


class TorchEstimatorMixin:
    """What the torch estimators share besides their training: fitted history, persistence.

    A fitted module is saved as its weights only: ``__getstate__`` turns each attribute of
    :attr:`_torch_modules` into a dict of NumPy arrays (its ``state_dict``, on the CPU), and
    ``__setstate__`` builds the untrained architecture with :meth:`_build_module` (on
    torch's meta device: nothing drawn, nothing allocated) and loads the arrays into it. So
    ``pickle`` files hold no torch object and load on a machine without the GPU they were
    trained on, and ``skops.io`` files hold nothing but the estimator, built-in types and
    arrays. Must come before :class:`sklearn.base.BaseEstimator` in the bases.
    """

    # Names of the attributes that hold a fitted nn.Module.
    _torch_modules = ()

    def _build_module(self, name):
        """An untrained module of the fitted architecture of attribute ``name``."""
        raise NotImplementedError

    def _record_training(self, history):
        """Set the fitted attributes of a :class:`TrainingHistory`."""
        self.n_iter_ = len(history.losses)
        self.loss_curve_ = history.losses
        self.validation_scores_ = history.validation_scores
        self.best_validation_score_ = history.best_score
        self.best_epoch_ = history.best_epoch

    def __getstate__(self):
        # A copy: object.__getstate__ may hand back the instance's own __dict__.
        state = dict(super().__getstate__())
        for name in self._torch_modules:
            if name in state:
                state[name] = module_weights(state[name])
        return state

    def __setstate__(self, state):
        state = dict(state)
        weights = {name: state.pop(name) for name in self._torch_modules if name in state}
        super().__setstate__(state)
        for name, arrays in weights.items():
            setattr(self, name, self._module_from_arrays(name, arrays))

    def _module_from_arrays(self, name, arrays):
        torch = import_torch()
        from ._compression import restore_low_rank_layers

        with torch.device("meta"):
            module = self._build_module(name)
            restore_low_rank_layers(module, {key: array.shape for key, array in arrays.items()})
        return load_module_weights(module, arrays, assign=True).eval()
