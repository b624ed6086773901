"""Preprocessed sequential-recommendation data sets (Amazon Beauty and Video, ML-1M)."""

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ..preprocessing import log_to_sequences
from ._base import _check_choice, _fetch, _require, get_data_home

__all__ = ["fetch_sequences", "load_sequences"]

_RAW = "https://raw.githubusercontent.com"

# name: (path in the data home, SHA-256, format, source URL pinned to a commit, description)
_FILES = {
    "beauty": (
        "seq/beauty-bert4rec/beauty.txt",
        "f480b7a7403852342ffd8f9809bb30697dd669be31813d0e204b698fec86ef49",
        "pairs",
        f"{_RAW}/FeiSun/BERT4Rec/615eaf2004abecda487a38d5b0c72f3dcfcae5b3/data/beauty.txt",
        "Amazon Beauty as preprocessed for BERT4Rec (Sun et al. 2019).",
    ),
    "beauty-s3rec": (
        "seq/amazon-s3rec/Beauty.txt",
        "226cce9c3105299ca0db9615d7d3fb32b3175e90da43100ae352599f0f0107b8",
        "lines",
        f"{_RAW}/salesforce/ICLRec/2890e6c3ff6a22c6699fc19cb863b66786c1cde4/data/Beauty.txt",
        "Amazon Beauty, 5-core, as preprocessed for S3-Rec and ICLRec.",
    ),
    "video": (
        "seq/video-sasrec/Video.txt",
        "b7376fe24430743f411dc7f567285657b2adb3f74361cc7ba0aee94f3024b651",
        "pairs",
        f"{_RAW}/kang205/SASRec/e3738967fddab206d6eeb4fda433e7a7034dd8b1/data/Video.txt",
        "Amazon Video Games as preprocessed for SASRec (Kang & McAuley 2018).",
    ),
    "ml-1m": (
        "seq/ml-1m-gsasrec-split/train/input.txt",
        "06957b3d3cc937ac05e5f5ade2d2d5c1042efdd2b6779b768140e74d4f6b20e3",
        "numbered-lines",
        f"{_RAW}/asash/gSASRec-pytorch/7e350285fb4721377c96e20ace7c74bf19bea57b"
        "/datasets/ml1m/train/input.txt",
        "MovieLens-1M in SASRec's preprocessing, training part of gSASRec's split: each "
        "history without its last 2 items (3 for the 512 validation users), so it is a "
        "slightly shortened ML-1M.",
    ),
}
_TIME_GAPS = "seq/beauty-s3rec-timegaps/Beauty.txt"
_TIME_GAPS_SOURCE = (
    f"{_RAW}/AraVio/TimeWeaver/38b4ff7243b527a4b8843090ce080ca533a9e3c6/data/Beauty.txt",
    None,
    "ace27f3acb2528e9b7cfb8e5c459070f5888cfc3edab4cd219e595c5be1c87b8",
)


def load_sequences(name, *, data_home=None):
    """Load user histories from a preprocessed sequential-recommendation data set.

    ============  ======  ======  ============
    name          users   items   interactions
    ============  ======  ======  ============
    beauty        40,226  54,542  353,962
    beauty-s3rec  22,363  12,101  198,502
    video         31,013  23,715  287,107
    ml-1m         6,040   3,416   987,019
    ============  ======  ======  ============

    Parameters
    ----------
    name : {"beauty", "beauty-s3rec", "video", "ml-1m"}
        Case-insensitive.
    data_home : str or path-like, default=None
        Data folder; see :func:`get_data_home`.

    Returns
    -------
    data : sklearn.utils.Bunch
        - ``sequences``: one int64 array of item ids per user, oldest first, ids 0 to
          ``n_items - 1``.
        - ``user_ids``, ``item_ids``: the files' own ids behind each user and item.
        - ``time_gaps``: for ``beauty-s3rec`` when ``seq/beauty-s3rec-timegaps/Beauty.txt``
          is present, the seconds since the user's previous interaction (0 for the first;
          whole days), one array per sequence; else ``None``. No file has timestamps.
        - ``DESCR``.
    """
    name = _check_choice(name, set(_FILES), "sequence data set")
    relative, _, layout, _, descr = _FILES[name]
    home = get_data_home(data_home)
    (path,) = _require(home, [relative], f"recfactor.datasets.fetch_sequences({name!r})")
    if layout == "pairs":
        log = pd.read_csv(path, sep=" ", header=None, names=["user_id", "item_id"])
    else:
        log = _read_lines(path, numbered=layout == "lines")
    sequences, user_ids, item_ids = log_to_sequences(log, time_col=None)
    time_gaps = None
    if name == "beauty-s3rec" and (home / _TIME_GAPS).is_file():
        time_gaps = _read_time_gaps(home / _TIME_GAPS, log, user_ids)
    return Bunch(
        sequences=sequences,
        user_ids=user_ids,
        item_ids=item_ids,
        time_gaps=time_gaps,
        DESCR=f"{descr} {len(sequences)} users, {len(item_ids)} items, {len(log)} "
        "interactions.",
    )


def fetch_sequences(name, *, data_home=None, download_if_missing=True):
    """Download a sequential data set (from the repository that published it) if needed.

    Raises
    ------
    ConnectionError
        When the file is missing and cannot be downloaded.
    FileNotFoundError
        When the file is missing and ``download_if_missing=False``.
    """
    name = _check_choice(name, set(_FILES), "sequence data set")
    relative, sha256, _, url, _ = _FILES[name]
    sources = {relative: (url, None, sha256)}
    if name == "beauty-s3rec":
        sources[_TIME_GAPS] = _TIME_GAPS_SOURCE
    _fetch(get_data_home(data_home), sources, download_if_missing)
    return load_sequences(name, data_home=data_home)


def _read_lines(path, *, numbered):
    """A log from one line per user: ``user item item ...``, or ``item item ...`` with the
    user being the line number (from 1)."""
    users, items = [], []
    with open(path) as lines:
        for number, line in enumerate(lines, start=1):
            tokens = np.array(line.split("\t")[0].split(), dtype=np.int64)
            user, history = (tokens[0], tokens[1:]) if numbered else (number, tokens)
            users.append(np.full(history.size, user))
            items.append(history)
    return pd.DataFrame({"user_id": np.concatenate(users), "item_id": np.concatenate(items)})


def _read_time_gaps(path, log, user_ids):
    """Per-user time gaps, checked against the item sequences they belong to."""
    with_gaps = pd.read_csv(path, sep="\t", header=None, names=["items", "gaps"])
    same_items = with_gaps["items"].str.split().str[1:].explode().astype(np.int64).to_numpy()
    if not np.array_equal(same_items, log.item_id.to_numpy()):
        raise ValueError(f"{path} does not hold the same sequences as the Beauty S3-Rec file.")
    users = with_gaps["items"].str.split().str[0].astype(np.int64)
    gaps = dict(zip(users, with_gaps.gaps.str.split().map(lambda g: np.array(g, np.int64))))
    return [gaps[user] for user in user_ids]
