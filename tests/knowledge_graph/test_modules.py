"""The interactions against naive per-triple references, and the Lorentz identity of x_H."""

import pytest

torch = pytest.importorskip("torch")
tl = pytest.importorskip("tensorly")

from recfactor.knowledge_graph._modules import (  # noqa: E402
    EmbeddingScorer,
    FrozenBasePlusCorrection,
    LorentzInteraction,
    SixteenBitDropout,
    TuckERInteraction,
    lift_to_hyperboloid,
)


def _randomise_batch_norms(module, generator):
    """Batch norms with random running statistics and affine parameters, so that evaluation
    mode is a non-trivial affine map the references must reproduce."""
    for norm in module.modules():
        if isinstance(norm, torch.nn.BatchNorm1d):
            size = norm.num_features
            norm.running_mean.copy_(torch.randn(size, generator=generator, dtype=torch.float64))
            norm.running_var.copy_(torch.rand(size, generator=generator, dtype=torch.float64) + 0.5)
            with torch.no_grad():
                norm.weight.copy_(torch.randn(size, generator=generator, dtype=torch.float64))
                norm.bias.copy_(torch.randn(size, generator=generator, dtype=torch.float64))
    return module.eval()


def _normalised(norm, x):
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    return (x - norm.running_mean) * scale + norm.bias


def _lorentz(a, b):
    return -a[0] * b[0] + a[1:] @ b[1:]


def _edge(a, b):
    """Squared Lorentz length of the edge from a to b."""
    return _lorentz(a - b, a - b)


def _naive_hyperbolic_term(u, t, v, c):
    """x_H of one triple from its Lorentz geometry: N from squared edge lengths."""
    U, T, V = (torch.cat([lift_to_hyperboloid(x, c).reshape(1), x]) for x in (u, t, v))
    origin = torch.zeros_like(U)
    origin[0] = 1.0
    numerator = 0.5 * (
        _edge(U, T) + _edge(V, origin) - _edge(U, V) - _edge(T, V) - _edge(U, origin)
        - _edge(T, origin)
    ) + (c - 1) / 2
    return numerator / (U[0] * T[0] + U[0] * V[0] + T[0] * V[0])


@pytest.mark.parametrize("curvature", [0.3, 1.0, 1.3, 4.0])
def test_batched_hyperbolic_term_equals_its_lorentz_geometry(curvature):
    generator = torch.Generator().manual_seed(0)
    dim, n_queries, n_entities = 5, 7, 11
    interaction = LorentzInteraction(dim, curvature, 0.3, 0.3).double()
    _randomise_batch_norms(interaction, generator)
    subjects = torch.randn(n_queries, dim, generator=generator, dtype=torch.float64)
    relations = torch.randn(n_queries, dim, generator=generator, dtype=torch.float64)
    candidates = 2 * torch.randn(n_entities, dim, generator=generator, dtype=torch.float64)

    with torch.no_grad():
        batched = interaction(subjects, relations, candidates)
        u = _normalised(interaction.subject_norm, subjects)
        t = _normalised(interaction.relation_norm, relations)
        naive = torch.tensor(
            [
                [
                    _naive_hyperbolic_term(u[q], t[q], candidates[e], curvature)
                    for e in range(n_entities)
                ]
                for q in range(n_queries)
            ],
            dtype=torch.float64,
        )
    torch.testing.assert_close(batched, naive)


def test_lifted_points_lie_on_the_hyperboloid():
    x = torch.randn(20, 4, dtype=torch.float64)
    x0 = lift_to_hyperboloid(x, 1.3)
    expected = torch.full((20,), -1.3, dtype=torch.float64)
    torch.testing.assert_close(-x0**2 + (x**2).sum(dim=1), expected)


def test_tucker_scores_equal_a_per_triple_einsum():
    generator = torch.Generator().manual_seed(1)
    entity_dim, relation_dim, n_queries, n_entities = 4, 3, 6, 9
    interaction = TuckERInteraction(entity_dim, relation_dim, 0.3, 0.4, 0.5).double()
    _randomise_batch_norms(interaction, generator)
    subjects = torch.randn(n_queries, entity_dim, generator=generator, dtype=torch.float64)
    relations = torch.randn(n_queries, relation_dim, generator=generator, dtype=torch.float64)
    candidates = torch.randn(n_entities, entity_dim, generator=generator, dtype=torch.float64)
    backend = tl.get_backend()

    with torch.no_grad():
        batched = interaction(subjects, relations, candidates)
        naive = torch.empty(n_queries, n_entities, dtype=torch.float64)
        for q in range(n_queries):
            subject = _normalised(interaction.input_norm, subjects[q])
            hidden = torch.einsum("i,ijk,j->k", relations[q], interaction.core, subject)
            hidden = _normalised(interaction.hidden_norm, hidden)
            for e in range(n_entities):
                naive[q, e] = hidden @ candidates[e]

    assert tl.get_backend() == backend, "the global tensorly backend changed"
    torch.testing.assert_close(batched, naive)


def test_tucker_core_starts_uniform_in_minus_one_one():
    core = TuckERInteraction(6, 5, 0.0, 0.0, 0.0).core
    assert core.shape == (5, 6, 6)
    assert -1 <= core.min() < -0.9 and 0.9 < core.max() <= 1


def test_embedding_scorer_scores_every_entity():
    scorer = EmbeddingScorer(10, 4, 3, 2, TuckERInteraction(3, 2, 0.0, 0.0, 0.0)).eval()
    logits = scorer(torch.tensor([0, 9]), torch.tensor([3, 1]))
    assert logits.shape == (2, 10)
    expected = scorer.interaction(
        scorer.entity_embeddings.weight[[0, 9]],
        scorer.relation_embeddings.weight[[3, 1]],
        scorer.entity_embeddings.weight,
    )
    torch.testing.assert_close(logits, expected)


def test_frozen_base_stays_in_evaluation_mode_and_gets_no_gradient():
    base = EmbeddingScorer(10, 4, 3, 2, TuckERInteraction(3, 2, 0.5, 0.5, 0.5))
    correction = EmbeddingScorer(10, 4, 2, 2, LorentzInteraction(2, 1.3, 0.1, 0.1))
    before = {name: value.clone() for name, value in base.state_dict().items()}
    scorer = FrozenBasePlusCorrection(base, correction).train()
    assert not base.training and correction.training

    logits = scorer(torch.tensor([0, 1, 2]), torch.tensor([0, 1, 3]))
    logits.sum().backward()

    assert all(p.grad is None for p in base.parameters())
    assert all(p.grad is not None for p in correction.parameters())
    for name, value in base.state_dict().items():  # batch-norm statistics too
        torch.testing.assert_close(value, before[name])
    query = torch.tensor([4]), torch.tensor([2])
    scorer.eval()
    torch.testing.assert_close(scorer(*query), base(*query) + correction(*query))


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_sixteen_bit_dropout_drops_at_rate_p_and_keeps_the_mean(p):
    dropout = SixteenBitDropout(p).train()
    x = torch.full((50, 101, 40), 2.0, requires_grad=True)  # 202,000: not a multiple of 4
    with torch.random.fork_rng():
        torch.manual_seed(0)
        y = dropout(x)
    dropped = y == 0
    # Binomial standard deviation sqrt(p (1 - p) / n) is at most 0.0012 here.
    assert dropped.double().mean().item() == pytest.approx(p, abs=0.006)
    scale = 1 / (1 - round(p * 2**16) / 2**16)  # p rounded to a multiple of 2**-16
    torch.testing.assert_close(y[~dropped], torch.full_like(y[~dropped], 2.0 * scale))
    assert y.mean().item() == pytest.approx(2.0, rel=0.02)
    # The gradient flows through the kept elements only, with the same scale.
    y.sum().backward()
    torch.testing.assert_close(x.grad, (~dropped).to(x.dtype) * scale)
    # Rows do not repeat a pattern: four elements share a draw, never a mask.
    assert not torch.equal(dropped[0], dropped[1])


def test_sixteen_bit_dropout_is_the_identity_in_evaluation_mode_or_at_zero():
    x = torch.randn(3, 4)
    assert SixteenBitDropout(0.5).eval()(x) is x
    assert SixteenBitDropout(0.0).train()(x) is x


def test_sixteen_bit_dropout_follows_the_torch_seed():
    x = torch.ones(1000)
    masks = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        masks.append(SixteenBitDropout(0.3).train()(x) == 0)
    assert torch.equal(masks[0], masks[1]) and not torch.equal(masks[0], masks[2])


@pytest.mark.parametrize(
    "interaction",
    [TuckERInteraction(3, 2, 0.0, 0.0, 0.0), LorentzInteraction(3, 1.3, 0.0, 0.0)],
    ids=["tucker", "lorentz"],
)
def test_entity_gradient_adds_the_lookup_and_the_output_layer(interaction):
    relation_dim = 2 if isinstance(interaction, TuckERInteraction) else 3
    scorer = EmbeddingScorer(10, 4, 3, relation_dim, interaction)
    entities, relations = torch.tensor([0, 1, 1, 7]), torch.tensor([0, 1, 2, 3])
    scorer(entities, relations).pow(2).sum().backward()
    # The same computation, with plain autograd through both uses of the table.
    table = scorer.entity_embeddings.weight.detach().clone().requires_grad_()
    scorer.interaction(
        table[entities], scorer.relation_embeddings(relations), table
    ).pow(2).sum().backward()
    grad = scorer.entity_embeddings.weight.grad
    assert grad.layout == torch.strided and grad.is_contiguous()  # as fused Adam wants it
    torch.testing.assert_close(grad, table.grad)
