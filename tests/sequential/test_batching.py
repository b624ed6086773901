import numpy as np

from recfactor.sequential._batching import (
    SameItemPartners,
    chunks_by_length,
    left_pad,
    mask_positions,
    seen_items,
    trim_padding,
)


def test_left_pad_matches_a_loop():
    rng = np.random.default_rng(0)
    sequences = [rng.integers(0, 9, size=n) for n in (0, 1, 4, 7, 3)]
    padded, lengths = left_pad(sequences, 5, fill=-1, shift=1)
    expected = np.full((5, 5), -1)
    for row, s in enumerate(sequences):
        tail = s[-5:] + 1
        expected[row, 5 - tail.size:] = tail
    np.testing.assert_array_equal(padded, expected)
    np.testing.assert_array_equal(lengths, [0, 1, 4, 5, 3])
    empty, _ = left_pad([np.empty(0, np.int64)], 2)
    np.testing.assert_array_equal(empty, [[0, 0]])


def test_trim_padding_keeps_the_most_recent_columns():
    tokens = np.array([[0, 0, 1, 2], [0, 0, 0, 3]])
    (trimmed,) = trim_padding(tokens, lengths=np.array([2, 1]))
    np.testing.assert_array_equal(trimmed, [[1, 2], [0, 3]])


def test_mask_positions_masks_valid_positions_and_at_least_one_per_row():
    valid = np.array([[False, True, True, True]] * 200)
    masked = mask_positions(valid, 0.2, np.random.default_rng(0))
    assert not masked[:, 0].any()
    assert masked.any(axis=1).all()
    assert 0.15 < masked[:, 1:3].mean() < 0.25


def test_mask_positions_hides_only_the_last_item_of_a_share_of_the_rows():
    valid = np.array([[False] + [True] * 19] * 2000)
    masked = mask_positions(valid, 0.2, np.random.default_rng(0), last_item_probability=0.3)
    last_only = masked[:, -1] & (masked.sum(axis=1) == 1)
    # Last-only rows: the 30 % drawn, plus the random-mask rows that drew nothing but it.
    assert 0.27 < last_only.mean() < 0.34
    assert not masked[:, 0].any()
    random_rows = ~last_only
    assert 0.15 < masked[random_rows, 1:-1].mean() < 0.25


def test_seen_items():
    seen = seen_items([np.array([2, 0, 2]), np.array([], dtype=np.int64)], 4)
    np.testing.assert_array_equal(seen.toarray(), [[1, 0, 1, 0], [0, 0, 0, 0]])


def test_chunks_by_length_split_a_batch_into_chunks_of_similar_length():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 200, size=500)
    rows = rng.choice(500, size=128, replace=False)
    chunks = chunks_by_length(rows, lengths, 4)
    assert [c.size for c in chunks] == [32] * 4
    np.testing.assert_array_equal(np.sort(np.concatenate(chunks)), np.sort(rows))
    assert all(lengths[a].max() <= lengths[b].min() for a, b in zip(chunks, chunks[1:]))
    # Each chunk is padded to its own longest row: far fewer positions than the batch's.
    assert sum(lengths[c].max() * c.size for c in chunks) < 0.7 * lengths[rows].max() * 128
    assert [c.size for c in chunks_by_length(rows[:3], lengths, 4)] == [1, 1, 1]


def test_same_item_partners_draws_uniformly_among_other_rows_with_the_same_item():
    final_items = np.array([7, 3, 7, 1, 3, 7, 3, 3, 9])
    rows = np.repeat(np.arange(9), 2000)
    partners = SameItemPartners(final_items)(rows, np.random.default_rng(0))
    assert np.array_equal(final_items[partners], final_items[rows])
    # Items 1 and 9 end one history each: those rows are their own partners.
    lone = np.isin(final_items[rows], [1, 9])
    assert np.array_equal(partners[lone], rows[lone])
    assert np.all(partners[~lone] != rows[~lone])
    # Row 1 (item 3) draws rows 4, 6 and 7 a third of the time each.
    shares = np.bincount(partners[rows == 1], minlength=9)[[4, 6, 7]] / 2000
    np.testing.assert_allclose(shares, 1 / 3, atol=0.04)
