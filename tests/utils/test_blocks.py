import pytest

from recfactor.utils._blocks import row_blocks, rows_per_block


@pytest.mark.parametrize("n_rows, block_size", [(0, 3), (1, 3), (6, 3), (7, 3), (5, 10)])
def test_row_blocks_cover_every_row_once_in_order(n_rows, block_size):
    blocks = list(row_blocks(n_rows, block_size))
    covered = [row for block in blocks for row in range(n_rows)[block]]
    assert covered == list(range(n_rows))
    assert all(block.stop - block.start <= block_size for block in blocks)
    assert len(blocks) == -(-n_rows // block_size)


def test_rows_per_block_keeps_to_the_budget_and_has_at_least_a_row():
    assert rows_per_block(10, budget=95) == 9
    assert rows_per_block(1000, budget=10) == 1
