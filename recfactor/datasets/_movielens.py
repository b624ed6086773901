"""MovieLens ratings with item features (genres, tags, Freebase graph, cast and crew)."""

import importlib.resources

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils import Bunch

from ..preprocessing import encode_ids, log_to_matrix
from ._base import _check_choice, _fetch, _require, get_data_home

__all__ = ["fetch_movielens", "load_movielens"]

_GROUPLENS = "https://files.grouplens.org/datasets/movielens"
_RECBOLE = (
    "https://raw.githubusercontent.com/RUCAIBox/RecBole/774080f7e87322dfd20f1edc1a35aa69aac03fb7"
    "/recbole/dataset_example/ml-100k"
)
_HYBRIDSVD = (
    "https://raw.githubusercontent.com/evfro/hybridsvd/58e606610a1ef04cee76567185f67fbb77ef89fc"
    "/datasets"
)

# Paths relative to the data home, with where fetch_movielens gets each file:
# (url, member of the archive at url or None, SHA-256 or None). GroupLens publishes no
# checksums; RecBole's files in the shared copies came from its wheel, not this commit.
SOURCES = {
    "100k": {
        "movielens/ml-100k/u.data": (f"{_GROUPLENS}/ml-100k.zip", "ml-100k/u.data", None),
        "movielens/ml-100k/u.item": (f"{_GROUPLENS}/ml-100k.zip", "ml-100k/u.item", None),
        "movielens/ml-100k/u.genre": (f"{_GROUPLENS}/ml-100k.zip", "ml-100k/u.genre", None),
        "movielens/ml-100k-recbole/ml-100k.link": (f"{_RECBOLE}/ml-100k.link", None, None),
        "movielens/ml-100k-recbole/ml-100k.kg": (f"{_RECBOLE}/ml-100k.kg", None, None),
    },
    "1m": {
        "movielens/ml-1m/ratings.dat": (f"{_GROUPLENS}/ml-1m.zip", "ml-1m/ratings.dat", None),
        "movielens/ml-1m/movies.dat": (f"{_GROUPLENS}/ml-1m.zip", "ml-1m/movies.dat", None),
        "movielens/ml-1m/meta_info_ml1m.csv": (
            f"{_HYBRIDSVD}/meta_info_ml1m.csv",
            None,
            "ebf1932ea4c4aba0a18c9c1e370525f4f3c25827e25bb7edae952645e8d16cc9",
        ),
    },
}

_CITATION = (
    "F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History and "
    "Context. ACM TiiS 5(4), Article 19. Licence: GroupLens terms (research use; ML-100K and "
    "ML-1M may not be redistributed)."
)


def load_movielens(variant="latest-small", *, data_home=None, min_feature_support=5):
    """Load MovieLens ratings with item features.

    ============  ======  =====  =========  ===========================================
    variant       users   items  ratings    item features
    ============  ======  =====  =========  ===========================================
    latest-small  671     9125   100,004    19 genres + 46 tags (embedded in recfactor)
    100k          943     1682   100,000    18 genres + Freebase graph (1858 in all)
    1m            6040    3883   1,000,209  18 genres + cast, director, writer
    ============  ======  =====  =========  ===========================================

    ``latest-small`` ships inside recfactor and needs no data folder; the others are read
    from :func:`get_data_home` (see :func:`fetch_movielens`).

    Parameters
    ----------
    variant : {"latest-small", "100k", "1m"}, default="latest-small"
        Which release.
    data_home : str or path-like, default=None
        Data folder; see :func:`get_data_home`.
    min_feature_support : int, default=5
        Keep only the graph, tag and crew features shared by at least this many items
        (genres are always kept). Rare features carry little signal for cold start and make
        the matrix very wide.

    Returns
    -------
    data : sklearn.utils.Bunch
        - ``interactions``: user x item CSR of ratings (float64).
        - ``frame``: the ratings as a DataFrame (user_id, item_id, rating, timestamp), raw ids.
        - ``user_ids``, ``item_ids``: raw id of each row and column of ``interactions``.
        - ``item_features``: item x feature CSR (binary, float64), rows aligned with
          ``item_ids``; ``feature_names``: e.g. ``"genre=Comedy"``, ``"tag=dark comedy"``.
        - ``DESCR``: source, counts, licence and citation.

    Notes
    -----
    For ``latest-small`` the items are every movie of ``movies.csv``, so the 59 movies
    nobody rated are present with their features and an empty column: cold items. The
    Freebase features of ``100k`` are the (relation, tail) pairs of the triples whose head is
    an item's entity (RecBole's ``ml-100k.kg`` and ``ml-100k.link``); the "unknown" genre
    flag is not a feature.

    Examples
    --------
    >>> from recfactor.datasets import load_movielens
    >>> data = load_movielens("latest-small")
    >>> data.interactions.shape, data.interactions.nnz
    ((671, 9125), 100004)
    """
    variant = _check_choice(variant, {"latest-small", "100k", "1m"}, "MovieLens variant")
    if variant == "latest-small":
        frame, features, descr = _read_latest_small(min_feature_support)
    else:
        home = get_data_home(data_home)
        reader = _read_100k if variant == "100k" else _read_1m
        frame, features, descr = reader(home, min_feature_support)
    interactions, user_ids, item_ids = log_to_matrix(
        frame, value_col="rating", item_ids=np.unique(features.item_id)
    )
    item_features, feature_names = _feature_matrix(features, item_ids)
    return Bunch(
        interactions=interactions,
        frame=frame,
        user_ids=user_ids,
        item_ids=item_ids,
        item_features=item_features,
        feature_names=feature_names,
        DESCR=f"{descr}\n{interactions.shape[0]} users, {interactions.shape[1]} items, "
        f"{interactions.nnz} ratings, {len(feature_names)} item features.\n{_CITATION}",
    )


def fetch_movielens(variant="100k", *, data_home=None, download_if_missing=True, **kwargs):
    """Download a MovieLens release into the data folder if needed, then load it.

    ``100k`` comes from GroupLens with RecBole's Freebase links, ``1m`` from GroupLens with
    the item metadata of the HybridSVD paper. Other keywords go to :func:`load_movielens`.

    Raises
    ------
    ConnectionError
        When a file is missing and cannot be downloaded.
    FileNotFoundError
        When a file is missing and ``download_if_missing=False``.
    """
    variant = _check_choice(variant, {"latest-small", "100k", "1m"}, "MovieLens variant")
    if variant != "latest-small":
        _fetch(get_data_home(data_home), SOURCES[variant], download_if_missing)
    return load_movielens(variant, data_home=data_home, **kwargs)


def _read_latest_small(min_feature_support):
    folder = importlib.resources.files("recfactor.datasets") / "data" / "ml-latest-small"
    with importlib.resources.as_file(folder) as path:
        ratings = pd.read_csv(path / "ratings.csv.gz")
        movies = pd.read_csv(path / "movies.csv.gz")
        tags = pd.read_csv(path / "tags.csv.gz", keep_default_na=False)
    frame = ratings.set_axis(["user_id", "item_id", "rating", "timestamp"], axis=1)
    genres = _split_column(movies.movieId, movies.genres, "|", "genre")
    genres = genres[genres.feature != "genre=(no genres listed)"]
    tag_values = tags.tag.str.strip().str.lower()
    tag_features = pd.DataFrame({"item_id": tags.movieId, "feature": "tag=" + tag_values})
    tag_features = _frequent(tag_features[tag_values != ""], min_feature_support)
    every_movie = pd.DataFrame({"item_id": movies.movieId, "feature": None})
    features = pd.concat([genres, tag_features, every_movie], ignore_index=True)
    return frame, features, "MovieLens ml-latest-small (GroupLens, October 2016 release)."


def _read_100k(home, min_feature_support):
    ratings, items, genre_file, link, kg = _require(
        home, SOURCES["100k"], "recfactor.datasets.fetch_movielens('100k')"
    )
    frame = pd.read_csv(
        ratings, sep="\t", header=None, names=["user_id", "item_id", "rating", "timestamp"]
    )
    genre_names = pd.read_csv(genre_file, sep="|", header=None)[0].tolist()
    table = pd.read_csv(items, sep="|", header=None, encoding="latin-1")
    flags = table.iloc[:, -len(genre_names):].to_numpy().astype(bool)
    rows, cols = np.nonzero(flags)
    genres = pd.DataFrame(
        {"item_id": table[0].to_numpy()[rows], "feature": "genre=" + np.array(genre_names)[cols]}
    )
    genres = genres[genres.feature != "genre=unknown"]
    links = pd.read_csv(link, sep="\t", dtype=str).set_axis(["item_id", "entity"], axis=1)
    triples = pd.read_csv(kg, sep="\t", dtype=str, keep_default_na=False)
    triples = triples.set_axis(["entity", "relation", "tail"], axis=1).merge(links, on="entity")
    graph = pd.DataFrame(
        {
            "item_id": triples.item_id.astype(np.int64),
            "feature": triples["relation"] + "=" + triples["tail"],
        }
    )
    every_movie = pd.DataFrame({"item_id": table[0], "feature": None})
    features = pd.concat(
        [genres, _frequent(graph, min_feature_support), every_movie], ignore_index=True
    )
    return frame, features, "MovieLens 100K (GroupLens) with Freebase features (RecBole)."


def _read_1m(home, min_feature_support):
    hint = "recfactor.datasets.fetch_movielens('1m')"
    (ratings,) = _require(home, ["movielens/ml-1m/ratings.dat"], hint)
    side = {}
    for name in ("movies.dat", "meta_info_ml1m.csv"):
        candidates = [home / "movielens" / folder / name for folder in ("ml-1m", "ml-1m-partial")]
        side[name] = next((p for p in candidates if p.is_file()), None)
        if side[name] is None:
            _require(home, [f"movielens/ml-1m/{name}"], hint)
    frame = pd.read_csv(
        ratings, sep="::", engine="python", header=None, encoding="latin-1",
        names=["user_id", "item_id", "rating", "timestamp"],
    )
    movies = pd.read_csv(
        side["movies.dat"], sep="::", engine="python", header=None, encoding="latin-1",
        names=["item_id", "title", "genres"],
    )
    meta = pd.read_csv(side["meta_info_ml1m.csv"], sep=";", keep_default_na=False)
    crew = [
        _split_column(meta.movieid, meta[column], ",", column)
        for column in ("cast", "director", "writer")
    ]
    every_movie = pd.DataFrame({"item_id": movies.item_id, "feature": None})
    features = pd.concat(
        [
            _split_column(movies.item_id, movies.genres, "|", "genre"),
            _frequent(pd.concat(crew, ignore_index=True), min_feature_support),
            every_movie,
        ],
        ignore_index=True,
    )
    # meta_info covers a few movies absent from movies.dat: they have no rating either.
    features = features[features.item_id.isin(movies.item_id)]
    return frame, features, "MovieLens 1M (GroupLens) with cast and crew (HybridSVD paper)."


def _split_column(item_ids, values, separator, prefix):
    exploded = pd.DataFrame({"item_id": item_ids.to_numpy(), "value": values.to_numpy()})
    exploded["value"] = exploded.value.str.split(separator)
    exploded = exploded.explode("value")
    exploded["value"] = exploded.value.str.strip()
    exploded = exploded[exploded.value.notna() & (exploded.value != "")]
    return pd.DataFrame({"item_id": exploded.item_id, "feature": prefix + "=" + exploded.value})


def _frequent(features, min_support):
    features = features.drop_duplicates()
    support = features.groupby("feature").item_id.transform("size")
    return features[support >= min_support]


def _feature_matrix(features, item_ids):
    """Binary item x feature CSR; rows with ``feature=None`` only register the item."""
    present = features.dropna(subset=["feature"]).drop_duplicates()
    feature_names = np.unique(present.feature.to_numpy().astype(str))
    rows = encode_ids(present.item_id.to_numpy(), item_ids, what="item")
    cols = encode_ids(present.feature.to_numpy().astype(str), feature_names, what="feature")
    matrix = sp.csr_matrix(
        (np.ones(rows.size), (rows, cols)), shape=(len(item_ids), len(feature_names))
    )
    return matrix, feature_names.astype(object)
