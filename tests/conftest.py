import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data():
    """The real data sets (RECFACTOR_DATA); tests that need them skip when it is absent."""
    folder = os.environ.get("RECFACTOR_DATA")
    if not folder or not Path(folder).is_dir():
        pytest.skip("RECFACTOR_DATA does not point to the shared data folder")
    return Path(folder)
