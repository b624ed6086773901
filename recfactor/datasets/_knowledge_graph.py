"""Knowledge-graph completion benchmarks: train / valid / test triples."""

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ..preprocessing import log_to_triples
from ._base import _check_choice, _fetch, _require, get_data_home

__all__ = ["fetch_knowledge_graph", "load_knowledge_graph"]

_CONVE = "https://github.com/TimDettmers/ConvE/raw/master"
_FOLDERS = {"fb15k-237": "FB15k-237", "wn18rr": "WN18RR", "umls": "umls", "nations": "nations"}
_SPLITS = ("train", "valid", "test")

SOURCES = {
    name: {
        f"kg/{folder}/{split}.txt": (f"{_CONVE}/{folder}.tar.gz", f"{split}.txt")
        for split in _SPLITS
    }
    for name, folder in _FOLDERS.items()
}

_DESCR = {
    "fb15k-237": "FB15k-237 (Toutanova & Chen 2015), a Freebase subset without inverse-relation "
    "leakage.",
    "wn18rr": "WN18RR (Dettmers et al. 2018), WordNet relations without inverse leakage.",
    "umls": "UMLS (Kemp et al. 2006), biomedical concepts; a small smoke test.",
    "nations": "Nations (Kemp et al. 2006), relations between 14 countries; many inverse "
    "relations, so a smoke test, not evidence.",
}


def load_knowledge_graph(name, *, data_home=None):
    """Load a knowledge-graph completion benchmark with its standard split.

    =========  =======  =======  =======  ========  =========
    name       train    valid    test     entities  relations
    =========  =======  =======  =======  ========  =========
    fb15k-237  272,115  17,535   20,466   14,541    237
    wn18rr     86,835   3,034    3,134    40,943    11
    umls       5,216    652      661      135       46
    nations    1,592    199      201      14        55
    =========  =======  =======  =======  ========  =========

    Parameters
    ----------
    name : {"fb15k-237", "wn18rr", "umls", "nations"}
        Case-insensitive.
    data_home : str or path-like, default=None
        Data folder; see :func:`get_data_home`. The files are
        ``kg/<FB15k-237|WN18RR|umls|nations>/{train,valid,test}.txt``.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``train``, ``valid``, ``test``: (n, 3) int64 arrays of (head, relation, tail);
        ``entity_ids``, ``relation_ids``: raw names, over all three splits (so the few test
        entities never seen in training still have an id); ``DESCR``.
    """
    name = _check_choice(name, set(_FOLDERS), "knowledge graph")
    paths = _require(
        get_data_home(data_home),
        SOURCES[name],
        f"recfactor.datasets.fetch_knowledge_graph({name!r})",
    )
    # dtype=str and no NA parsing: entity names such as "NA" are names, not missing values;
    # the default C parser also strips FB15k-237's CRLF line endings.
    frames = [
        pd.read_csv(
            path, sep="\t", header=None, names=["head", "relation", "tail"], dtype=str,
            keep_default_na=False, quoting=3,
        )
        for path in paths
    ]
    triples, entity_ids, relation_ids = log_to_triples(pd.concat(frames, ignore_index=True))
    bounds = np.cumsum([len(frame) for frame in frames])[:-1]
    train, valid, test = np.split(triples, bounds)
    return Bunch(
        train=train,
        valid=valid,
        test=test,
        entity_ids=entity_ids,
        relation_ids=relation_ids,
        DESCR=f"{_DESCR[name]} {len(train)} / {len(valid)} / {len(test)} triples, "
        f"{len(entity_ids)} entities, {len(relation_ids)} relations.",
    )


def fetch_knowledge_graph(name, *, data_home=None, download_if_missing=True):
    """Download a benchmark (the ConvE repository's archives) if needed, then load it.

    Raises
    ------
    ConnectionError
        When a file is missing and cannot be downloaded.
    FileNotFoundError
        When a file is missing and ``download_if_missing=False``.
    """
    name = _check_choice(name, set(_FOLDERS), "knowledge graph")
    _fetch(get_data_home(data_home), SOURCES[name], download_if_missing)
    return load_knowledge_graph(name, data_home=data_home)
