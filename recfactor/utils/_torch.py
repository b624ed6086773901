"""PyTorch helpers: torch is an optional dependency, imported only when a model needs it."""

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
