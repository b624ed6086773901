"""The demo of the README's first command."""

import subprocess
import sys

import pytest

from recfactor.__main__ import main


def test_demo_prints_a_results_table_where_every_model_beats_popularity(capsys):
    table = main([])
    out = capsys.readouterr().out
    assert out.startswith("MovieLens latest-small: 671 users, 9125 items, 100004 ratings")
    assert list(table.index) == [
        "Popularity", "PureSVD (rank 32)", "ALS (rank 64)", "BPR (rank 64)"
    ]
    assert {"NDCG@10", "HR@10", "Recall@10", "Coverage@10"} <= set(table.columns)
    assert (table["NDCG@10"].drop("Popularity") > table.loc["Popularity", "NDCG@10"]).all()
    assert ((table.filter(like="@10") >= 0) & (table.filter(like="@10") <= 1)).all().all()


def test_demo_runs_as_a_module():
    done = subprocess.run(
        [sys.executable, "-m", "recfactor", "-k", "5"], capture_output=True, text=True, check=True
    )
    assert "NDCG@5" in done.stdout and "PureSVD" in done.stdout


def test_demo_rejects_unknown_dataset():
    with pytest.raises(SystemExit):
        main(["--dataset", "netflix"])
