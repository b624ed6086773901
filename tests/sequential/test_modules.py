import numpy as np
import pytest
import torch

from recfactor.sequential._modules import (
    NextItemNetwork,
    PositionalKernel,
    SequenceEncoder,
    ValueMixer,
    attention_mask,
)


def test_positional_kernel_is_lower_triangular_toeplitz():
    torch.manual_seed(0)
    kernel = PositionalKernel(max_length=6)
    raw = torch.cat([kernel.head, kernel.lags])
    assert raw[0] == 1.0  # g0 = 1 before normalisation; the rest starts small
    assert kernel.lags.abs().max() < 0.1
    g = kernel.kernel()
    torch.testing.assert_close(g, raw / raw.norm())
    L = kernel(5).detach()
    assert torch.equal(L, L.tril())
    for i in range(5):
        for j in range(i + 1):
            assert L[i, j] == g[i - j]


def test_value_mixer_starts_near_identity_with_unit_rows():
    torch.manual_seed(0)
    mixer = ValueMixer(max_length=6)
    A = mixer(6).detach()
    assert torch.equal(A, A.tril())
    torch.testing.assert_close(A.norm(dim=1), torch.ones(6))
    torch.testing.assert_close(A, torch.eye(6), atol=0.05, rtol=0)
    # A batch of 4 columns uses the last 4 rows and columns of the same matrix.
    assert torch.equal(mixer(4).detach(), A[-4:, -4:])


def test_attention_mask():
    valid = torch.tensor([[False, True, True]])
    causal = attention_mask(valid, causal=True)[0, 0]
    expected = torch.tensor([[True, False, False], [False, True, False], [False, True, True]])
    assert torch.equal(causal, expected)
    bidirectional = attention_mask(valid, causal=False)[0, 0]
    assert torch.equal(bidirectional[1:], torch.tensor([[False, True, True]] * 2))


def test_kernel_encoder_never_looks_ahead_and_ignores_padding():
    torch.manual_seed(0)
    encoder = SequenceEncoder(8, n_blocks=2, n_heads=2, dropout=0.0, max_length=6,
                              positional="kernel", causal=True, ffn_hidden=8,
                              activation=torch.nn.ReLU).eval()
    x = torch.randn(1, 6, 8)
    valid = torch.tensor([[False, False, True, True, True, True]])
    changed = x.clone()
    changed[0, -1] = torch.randn(8)
    with torch.no_grad():
        states, changed_states = encoder(x, valid), encoder(changed, valid)
        # The padding's content and the padded width do not matter.
        noisy = x.clone()
        noisy[0, :2] = torch.randn(2, 8)
        trimmed = encoder(x[:, 2:], valid[:, 2:])
    torch.testing.assert_close(states[0, 2:-1], changed_states[0, 2:-1])
    assert not torch.allclose(states[0, -1], changed_states[0, -1])
    with torch.no_grad():
        torch.testing.assert_close(encoder(noisy, valid)[0, 2:], states[0, 2:])
    np.testing.assert_allclose(trimmed[0].numpy(), states[0, 2:].numpy(), atol=1e-5)


@pytest.mark.parametrize("positional", ["learned", "kernel"])
@pytest.mark.parametrize("causal", [True, False])
def test_states_at_queried_columns_are_those_of_the_full_pass(positional, causal):
    torch.manual_seed(0)
    encoder = SequenceEncoder(8, n_blocks=2, n_heads=2, dropout=0.0, max_length=6,
                              positional=positional, causal=causal, ffn_hidden=16,
                              activation=torch.nn.GELU).eval()
    x = torch.randn(3, 6, 8)
    valid = torch.tensor([[False, False, True, True, True, True]] + [[True] * 6] * 2)
    queries = torch.tensor([[2, 5], [0, 3], [4, 4]])
    with torch.no_grad():
        full = encoder(x, valid)
        picked = encoder(x, valid, queries)
    expected = torch.stack([full[b, queries[b]] for b in range(3)])
    torch.testing.assert_close(picked, expected, rtol=1e-5, atol=1e-6)


def test_weights_start_small_and_items_enter_scaled_by_sqrt_dim():
    torch.manual_seed(0)
    network = NextItemNetwork(50_000, 64, n_blocks=2, n_heads=1, dropout=0.0, max_length=50,
                              positional="learned", causal=True, ffn_hidden=256,
                              activation=torch.nn.ReLU).requires_grad_(False)
    # Normal(0, 0.02) whatever the catalogue size (Xavier normal would give the items 0.006
    # here and the linear layers 0.08 to 0.18), zero biases, padding zero.
    assert abs(float(network.head.items.weight[1:].std()) - 0.02) < 0.001
    assert abs(float(network.encoder.positions.weight.std()) - 0.02) < 0.002
    for module in network.encoder.modules():
        if isinstance(module, torch.nn.Linear):
            assert abs(float(module.weight.std()) - 0.02) < 0.003
            assert not module.bias.any()
    assert not network.head.items.weight[0].any()
    tokens = torch.tensor([[0, 3, 49_999]])
    torch.testing.assert_close(network.head.embed(tokens), network.head.items.weight[tokens] * 8.0)
