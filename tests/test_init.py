"""The top-level package: lazy subpackages."""

import pytest


def test_every_advertised_subpackage_imports():
    import recfactor

    for name in recfactor.__all__[1:]:
        assert getattr(recfactor, name).__name__ == f"recfactor.{name}"
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        recfactor.nothing
