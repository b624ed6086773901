import numpy as np
import pytest

from recfactor.datasets import _movielens, fetch_movielens, load_movielens


def test_embedded_latest_small_needs_no_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("RECFACTOR_DATA", str(tmp_path / "empty"))
    data = load_movielens()
    X = data.interactions
    assert X.shape == (671, 9125) and X.nnz == 100_004
    assert len(data.user_ids) == 671 and len(data.item_ids) == 9125
    assert data.item_features.shape == (9125, len(data.feature_names))
    genres = [n for n in data.feature_names if n.startswith("genre=")]
    assert len(genres) == 19 and "genre=(no genres listed)" not in genres
    assert any(n.startswith("tag=") for n in data.feature_names)
    assert (np.diff(X.indptr) > 0).all()
    assert (X.getnnz(axis=0) == 0).sum() == 9125 - 9066  # catalogued but never rated
    # the frame and the matrix hold the same ratings
    row = np.searchsorted(data.user_ids, data.frame.user_id.to_numpy())
    col = np.searchsorted(data.item_ids, data.frame.item_id.to_numpy())
    np.testing.assert_array_equal(np.asarray(X[row, col]).ravel(), data.frame.rating)
    toy_story = np.searchsorted(data.item_ids, 1)
    names = data.feature_names[data.item_features[toy_story].indices]
    assert {"genre=Animation", "genre=Comedy"} <= set(names)


def test_min_feature_support_filters_tags_not_genres():
    wide = load_movielens(min_feature_support=1)
    narrow = load_movielens(min_feature_support=5)
    assert wide.item_features.shape[1] > narrow.item_features.shape[1]
    assert sum(n.startswith("genre=") for n in wide.feature_names) == 19
    support = np.asarray(narrow.item_features.sum(axis=0)).ravel()
    is_tag = np.char.startswith(narrow.feature_names.astype(str), "tag=")
    assert support[is_tag].min() >= 5


def test_ml_100k_matches_the_published_counts(shared_data):
    data = load_movielens("100k", data_home=shared_data)
    assert data.interactions.shape == (943, 1682) and data.interactions.nnz == 100_000
    # movielens/SOURCE.md: genres plus graph features shared by >= 5 items
    assert data.item_features.shape == (1682, 1858) and data.item_features.nnz == 31_982
    assert "genre=unknown" not in data.feature_names
    assert data.frame.shape == (100_000, 4)


def _write_ml_1m(home):
    folder = home / "movielens" / "ml-1m"
    folder.mkdir(parents=True)
    (folder / "ratings.dat").write_text("1::10::5::978300760\n2::20::3::978302109\n1::20::4::1\n")
    (folder / "movies.dat").write_bytes(
        "10::Caf\xe9 (1995)::Comedy|Drama\n20::Heat (1995)::Action\n30::Other::Drama\n".encode(
            "latin-1"
        )
    )
    (folder / "meta_info_ml1m.csv").write_text(
        "movieid;cast;director;writer;genres\n10;Ann,Bob;Cid;;Comedy\n20;Bob;Cid;Dee;Action\n"
        "99;Zed;;;Drama\n"
    )


def test_ml_1m_parsing_on_tiny_files(tmp_path):
    _write_ml_1m(tmp_path)
    data = load_movielens("1m", data_home=tmp_path, min_feature_support=2)
    assert data.item_ids.tolist() == [10, 20, 30]  # movie 99 is not in movies.dat
    assert data.interactions.toarray().tolist() == [[5, 4, 0], [0, 3, 0]]
    assert set(data.feature_names) == {
        "genre=Comedy", "genre=Drama", "genre=Action", "cast=Bob", "director=Cid"
    }


def test_missing_files_and_unknown_variant(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"ml-1m/ratings\.dat.*fetch_movielens\('1m'\)"):
        load_movielens("1m", data_home=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"ml-100k/u\.data"):
        load_movielens("100k", data_home=tmp_path)
    with pytest.raises(ValueError, match=r"Unknown MovieLens variant '20m'; choose one of"):
        load_movielens("20m")


def test_fetch_movielens_downloads_into_data_home(tmp_path, monkeypatch):
    source = tmp_path / "source"
    _write_ml_1m(source)
    files = source / "movielens" / "ml-1m"
    monkeypatch.setitem(
        _movielens.SOURCES,
        "1m",
        {f"movielens/ml-1m/{p.name}": (p.as_uri(), None, None) for p in files.iterdir()},
    )
    home = tmp_path / "home"
    data = fetch_movielens("1m", data_home=home, min_feature_support=2)
    assert data.interactions.nnz == 3 and (home / "movielens/ml-1m/ratings.dat").is_file()
    with pytest.raises(FileNotFoundError, match="download_if_missing=False"):
        fetch_movielens("1m", data_home=tmp_path / "other", download_if_missing=False)
