"""Every gallery example runs to the end (on a non-interactive backend)."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("plot_*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_example_runs(path, monkeypatch, tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    plt.switch_backend("Agg")
    monkeypatch.chdir(tmp_path)
    try:
        runpy.run_path(str(path), run_name="__main__")
    except ConnectionError as error:
        # A benchmark data set (UMLS) neither in RECFACTOR_DATA nor downloadable here.
        pytest.skip(f"{path.name} needs a data set that could not be downloaded: {error}")
    finally:
        plt.close("all")
