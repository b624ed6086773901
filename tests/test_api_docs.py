"""The API reference lists every public name of every subpackage."""

import importlib
from pathlib import Path

import pytest

import recfactor

API = (Path(__file__).parents[1] / "docs" / "api.rst").read_text()


@pytest.mark.parametrize("subpackage", [s for s in recfactor._SUBPACKAGES])
def test_every_public_name_is_in_the_api_reference(subpackage):
    module = importlib.import_module(f"recfactor.{subpackage}")
    missing = [name for name in module.__all__ if f"recfactor.{subpackage}.{name}\n" not in API]
    assert not missing, f"docs/api.rst does not list {missing}"
