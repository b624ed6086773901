"""Every estimator saved with skops.io loads with the trusted types the docs list, and pickles."""

import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.preprocessing import Normalizer

from recfactor.datasets import make_interactions, make_item_features, make_sequences, make_triples
from recfactor.decomposition import ALS, BPR, EASE, HybridSVD, PureSVD
from recfactor.dummy import PopularityRecommender
from recfactor.feature_selection import (
    CollaborativeMaxVolSelector,
    FeatureFrequencySelector,
    ItemQuestionnaire,
    MaxVolSelector,
    RandomSelector,
)
from recfactor.knowledge_graph import MIGTF, TuckER
from recfactor.neighbors import ContentKNN
from recfactor.pipeline import make_pipeline
from recfactor.sequential import BERT4Rec, PNFRec, SASRec
from recfactor.utils import all_estimators

sio = pytest.importorskip("skops.io")

DOCS = Path(__file__).parents[1] / "docs" / "user_guide" / "persistence.rst"
TORCH_FAST = dict(max_epochs=1, device="cpu", random_state=0)


def documented_trusted_types():
    """Estimator name -> the types the docs' table says to trust (in ``literal`` quotes)."""
    table = DOCS.read_text().split("list-table::")[1]
    rows = re.findall(r"\* - (\w+)\n\s+- (.+?)(?=\n   \* -|\Z)", table, flags=re.S)
    return {name: re.findall(r"``([\w.]+\.[\w.]+)``", cell) for name, cell in rows
            if name != "Estimator"}


def _data():
    features, interactions = make_item_features(n_items=120, n_features=30, n_users=80,
                                                random_state=0)
    ratings = make_interactions(n_users=80, n_items=120, random_state=0)
    histories = make_sequences(n_users=60, n_items=30, random_state=0)
    rng = np.random.default_rng(0)
    rated = [np.column_stack([h, np.where(rng.random(h.size) < 0.2, 1, 5)]) for h in histories]
    triples = make_triples(n_entities=30, n_relations=3, n_triples=200, random_state=0)
    return features, interactions, ratings, histories, rated, triples


F, Y, R, H, RATED, T = _data()

# Each estimator fitted small, and what it predicts (compared after loading).
CASES = {
    "ALS": (lambda: ALS(rank=2, max_epochs=2, device="cpu").fit(R), lambda m: m.recommend(R)),
    "BPR": (lambda: BPR(rank=2, max_epochs=2, device="cpu").fit(R), lambda m: m.recommend(R)),
    "EASE": (lambda: EASE().fit(R), lambda m: m.recommend(R)),
    "PureSVD": (lambda: PureSVD(rank=2).fit(R), lambda m: m.recommend(R)),
    "PopularityRecommender": (lambda: PopularityRecommender().fit(R),
                              lambda m: m.recommend(R)),
    "HybridSVD": (lambda: HybridSVD(rank=2).fit(F, Y), lambda m: m.predict(F)),
    "ContentKNN": (lambda: ContentKNN(n_neighbors=3).fit(F, Y), lambda m: m.predict(F)),
    "MaxVolSelector": (lambda: MaxVolSelector(n_features_to_select=3, rank=2).fit(F),
                       lambda m: m.transform(F).toarray()),
    "CollaborativeMaxVolSelector": (
        lambda: CollaborativeMaxVolSelector(n_features_to_select=3, rank=2).fit(F, Y),
        lambda m: m.transform(F).toarray()),
    "RandomSelector": (lambda: RandomSelector(n_features_to_select=3, random_state=0).fit(F),
                       lambda m: m.transform(F).toarray()),
    "FeatureFrequencySelector": (lambda: FeatureFrequencySelector(n_features_to_select=3).fit(F),
                                 lambda m: m.transform(F).toarray()),
    "ItemQuestionnaire": (lambda: ItemQuestionnaire(n_questions=4, rank=2, random_state=0).fit(R),
                          lambda m: m.recommend(R)),
    "SASRec": (lambda: SASRec(embedding_dim=8, **TORCH_FAST).fit(H),
               lambda m: m.transform(H)),
    "BERT4Rec": (lambda: BERT4Rec(embedding_dim=8, **TORCH_FAST).fit(H),
                 lambda m: m.transform(H)),
    "PNFRec": (lambda: PNFRec(embedding_dim=8, **TORCH_FAST).fit(RATED),
               lambda m: m.transform(RATED)),
    "TuckER": (lambda: TuckER(entity_dim=4, relation_dim=4, **TORCH_FAST).fit(T),
               lambda m: m.transform(T)),
    "MIGTF": (lambda: MIGTF(base=TuckER(entity_dim=4, relation_dim=4, **TORCH_FAST),
                            hyperbolic_dim=2, **TORCH_FAST).fit(T),
              lambda m: m.transform(T)),
    "RecommenderPipeline": (lambda: make_pipeline(Normalizer(), PureSVD(rank=2)).fit(R),
                            lambda m: m.recommend(R)),
}
# Beyond the docs' table, the types of this test's pipeline's steps.
STEP_TYPES = {"RecommenderPipeline": ["recfactor.decomposition._pure_svd.PureSVD"]}
TORCH_MODELS = {"SASRec", "BERT4Rec", "PNFRec", "TuckER", "MIGTF"}


def test_every_estimator_is_covered_and_documented():
    names = {name for name, _ in all_estimators()}
    assert set(CASES) == names
    assert set(documented_trusted_types()) == names


def _needs_what_it_needs(name):
    if name in TORCH_MODELS or name == "MIGTF":
        pytest.importorskip("torch")


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_skops_file_loads_with_the_documented_trusted_types(name, tmp_path):
    _needs_what_it_needs(name)
    fit, predict = CASES[name]
    model = fit()
    path = tmp_path / f"{name}.skops"
    sio.dump(model, path)
    trusted = documented_trusted_types()[name] + STEP_TYPES.get(name, [])
    assert set(sio.get_untrusted_types(file=path)) <= set(trusted)
    loaded = sio.load(path, trusted=trusted)
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(predict(loaded), predict(model))
    # And nothing else loads: without its own class, the file is refused.
    with pytest.raises(Exception, match="[Uu]ntrusted"):
        sio.load(path, trusted=[])


@pytest.mark.parametrize("name", sorted(CASES))
def test_plain_pickle_still_round_trips(name):
    _needs_what_it_needs(name)
    fit, predict = CASES[name]
    model = fit()
    np.testing.assert_array_equal(predict(pickle.loads(pickle.dumps(model))), predict(model))


def test_a_torch_file_holds_weights_as_arrays_and_a_compressed_model_loads(tmp_path):
    torch = pytest.importorskip("torch")
    model = SASRec(embedding_dim=8, **TORCH_FAST).fit(H).compress(H, 0.3, method="svd")
    state = model.__getstate__()
    assert all(isinstance(array, np.ndarray) for array in state["network_"].values())
    assert "head.items.left" in state["network_"]
    path = tmp_path / "compressed.skops"
    sio.dump(model, path)
    loaded = sio.load(path, trusted=documented_trusted_types()["SASRec"])
    assert sum(p.numel() for p in loaded.network_.parameters()) == sum(
        p.numel() for p in model.network_.parameters())
    np.testing.assert_array_equal(loaded.recommend(H), model.recommend(H))
    # Loading builds the network without drawing from the caller's torch generator.
    torch.manual_seed(0)
    expected = torch.rand(2)
    torch.manual_seed(0)
    sio.load(path, trusted=documented_trusted_types()["SASRec"])
    torch.testing.assert_close(torch.rand(2), expected)
