import builtins
import subprocess
import sys

import pytest

from recfactor.utils import import_torch, resolve_device


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
