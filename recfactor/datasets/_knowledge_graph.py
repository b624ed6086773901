"""Knowledge-graph completion benchmarks: train / valid / test triples."""

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ..preprocessing import log_to_triples
from ._base import _check_choice, _fetch, _require, get_data_home

__all__ = ["fetch_knowledge_graph", "load_knowledge_graph"]

_CONVE = "https://github.com/TimDettmers/ConvE/raw/f3c0eb286025410fa5b4c04696c918264163d0ca"
_FOLDERS = {"fb15k-237": "FB15k-237", "wn18rr": "WN18RR", "umls": "umls", "nations": "nations"}
_SPLITS = ("train", "valid", "test")

_SHA256 = {
    "FB15k-237/train": "6e4c2782169af21e9743f3b1d200886f5d595bf6bc504ec1351720949c5cdfae",
    "FB15k-237/valid": "cf6309010852f6a8d47a45df830a426415d1ee6f7a3970a8376ff1fb81db4a5c",
    "FB15k-237/test": "5711cf41623ceb4eacc50eb6108a3ca6565c7492e3caaf82a3e355cc660d1574",
    "WN18RR/train": "038612e783c215ee5f3ca9fbfca27b8d0739be1028fe4ee7c174aecf0b83d5df",
    "WN18RR/valid": "453ce7202afa58094a04d2b1560ee2b02660f1c260b32ce6651c8ccedd1028ab",
    "WN18RR/test": "0383bceaaa1096cf3c03ec021ed0048068e2355dbfc0239b292cefdac821cec5",
    "umls/train": "873ef4925516b83e7f6f8cc02b4be51d848828710a7f65a956f0ac4a9e452f35",
    "umls/valid": "025c98f8a4891e2a6582ec5b40ee0d904031edad9c52554522f4b7904820c98e",
    "umls/test": "a7eb529a3d2810fcc96341ccc97c625a5e202f8389673aa6bd317eeebbb79014",
    "nations/train": "0830fa9da8e5bba2ccdaa45b7bdc9130451ba66b09ff2708f35fccaf82473e57",
    "nations/valid": "2b337a62e51a2f45c283eac98a70d21b7e0e102136be1539b2a52c652a7b0530",
    "nations/test": "3971085165b47b6aeaec68058c6d8d98b3005e929db81268410b95ae4db770ab",
}

SOURCES = {
    name: {
        f"kg/{folder}/{split}.txt": (
            f"{_CONVE}/{folder}.tar.gz", f"{split}.txt", _SHA256[f"{folder}/{split}"]
        )
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
