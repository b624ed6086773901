import numpy as np
import pytest

from recfactor.datasets import _knowledge_graph, fetch_knowledge_graph, load_knowledge_graph


def _write_kg(folder, crlf=False):
    folder.mkdir(parents=True)
    end = "\r\n" if crlf else "\n"
    splits = {
        "train": [("/m/a", "/r/x", "/m/b"), ("NA", "/r/y", "/m/a")],
        "valid": [("/m/b", "/r/x", "NA")],
        "test": [("/m/c", "/r/y", "/m/a")],
    }
    for split, rows in splits.items():
        (folder / f"{split}.txt").write_bytes(
            "".join("\t".join(r) + end for r in rows).encode()
        )


@pytest.mark.parametrize("crlf", [False, True])
def test_load_knowledge_graph_parses_splits(tmp_path, crlf):
    _write_kg(tmp_path / "kg" / "FB15k-237", crlf=crlf)
    data = load_knowledge_graph("FB15k-237", data_home=tmp_path)
    assert data.entity_ids.tolist() == ["/m/a", "/m/b", "/m/c", "NA"]  # "NA" is a name
    assert data.relation_ids.tolist() == ["/r/x", "/r/y"]
    np.testing.assert_array_equal(data.train, [[0, 0, 1], [3, 1, 0]])
    np.testing.assert_array_equal(data.valid, [[1, 0, 3]])
    np.testing.assert_array_equal(data.test, [[2, 1, 0]])  # unseen-in-train entity keeps an id


@pytest.mark.parametrize(
    "name, counts, n_entities, n_relations",
    [
        ("fb15k-237", (272_115, 17_535, 20_466), 14_541, 237),
        ("wn18rr", (86_835, 3_034, 3_134), 40_943, 11),
        ("umls", (5_216, 652, 661), 135, 46),
        ("nations", (1_592, 199, 201), 14, 55),
    ],
)
def test_real_benchmarks_match_published_counts(shared_data, name, counts, n_entities,
                                                n_relations):
    data = load_knowledge_graph(name, data_home=shared_data)
    assert (len(data.train), len(data.valid), len(data.test)) == counts
    assert (len(data.entity_ids), len(data.relation_ids)) == (n_entities, n_relations)
    assert not any("\r" in e for e in data.entity_ids[:100])


def test_errors_and_fetch(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="Unknown knowledge graph 'fb15k'"):
        load_knowledge_graph("fb15k", data_home=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"kg/umls/train\.txt.*fetch_knowledge_graph"):
        load_knowledge_graph("umls", data_home=tmp_path)
    source = tmp_path / "source"
    _write_kg(source)
    monkeypatch.setitem(
        _knowledge_graph.SOURCES,
        "umls",
        {f"kg/umls/{s}.txt": ((source / f"{s}.txt").as_uri(), None, None) for s in
         ("train", "valid", "test")},
    )
    assert len(fetch_knowledge_graph("umls", data_home=tmp_path / "home").train) == 2
