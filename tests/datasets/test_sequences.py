import pytest

from recfactor.datasets import _sequences, fetch_sequences, load_sequences


def _write(home, relative, text):
    path = home / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_pairs_and_line_formats(tmp_path):
    _write(tmp_path, "seq/beauty-bert4rec/beauty.txt", "1 5\n1 9\n2 9\n1 7\n")
    data = load_sequences("beauty", data_home=tmp_path)
    assert data.user_ids.tolist() == [1, 2] and data.item_ids.tolist() == [5, 7, 9]
    assert [s.tolist() for s in data.sequences] == [[0, 2, 1], [2]]
    assert data.time_gaps is None
    _write(tmp_path, "seq/amazon-s3rec/Beauty.txt", "1 4 6\n2 6 4 4\n")
    data = load_sequences("beauty-s3rec", data_home=tmp_path)
    assert [s.tolist() for s in data.sequences] == [[0, 1], [1, 0, 0]]
    _write(tmp_path, "seq/beauty-s3rec-timegaps/Beauty.txt", "1 4 6\t0 86400\n2 6 4 4\t0 5 7\n")
    gaps = load_sequences("beauty-s3rec", data_home=tmp_path).time_gaps
    assert [g.tolist() for g in gaps] == [[0, 86400], [0, 5, 7]]
    _write(tmp_path, "seq/ml-1m-gsasrec-split/train/input.txt", "3 1 2\n2 2\n")
    data = load_sequences("ml-1m", data_home=tmp_path)
    assert data.user_ids.tolist() == [1, 2] and [s.tolist() for s in data.sequences] == [
        [2, 0, 1], [1, 1]
    ]


def test_time_gaps_must_match_the_sequences(tmp_path):
    _write(tmp_path, "seq/amazon-s3rec/Beauty.txt", "1 4 6\n")
    _write(tmp_path, "seq/beauty-s3rec-timegaps/Beauty.txt", "1 4 7\t0 1\n")
    with pytest.raises(ValueError, match="does not hold the same sequences"):
        load_sequences("beauty-s3rec", data_home=tmp_path)


@pytest.mark.parametrize(
    "name, n_users, n_items, n_interactions",
    [
        ("beauty", 40_226, 54_542, 353_962),
        ("beauty-s3rec", 22_363, 12_101, 198_502),
        ("video", 31_013, 23_715, 287_107),
        ("ml-1m", 6_040, 3_416, 987_019),
    ],
)
def test_real_sequences_match_published_counts(shared_data, name, n_users, n_items,
                                               n_interactions):
    data = load_sequences(name, data_home=shared_data)
    assert len(data.sequences) == n_users and len(data.item_ids) == n_items
    assert sum(len(s) for s in data.sequences) == n_interactions
    if name == "beauty-s3rec":
        assert [len(g) for g in data.time_gaps] == [len(s) for s in data.sequences]
        assert all(g[0] == 0 for g in data.time_gaps)


def test_errors_and_fetch(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="Unknown sequence data set 'yelp'"):
        load_sequences("yelp", data_home=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"video-sasrec/Video\.txt.*fetch_sequences"):
        load_sequences("video", data_home=tmp_path)
    source = _write(tmp_path, "source/Video.txt", "1 3\n1 4\n")
    relative, _, layout, _, descr = _sequences._FILES["video"]
    monkeypatch.setitem(
        _sequences._FILES, "video", (relative, None, layout, source.as_uri(), descr)
    )
    data = fetch_sequences("video", data_home=tmp_path / "home")
    assert [s.tolist() for s in data.sequences] == [[0, 1]]
