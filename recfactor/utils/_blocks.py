"""Row blocking: how recfactor walks a large array a block of rows at a time.

Scores of every item for every user (or entity for every query) rarely fit in memory at
once; every such loop takes its blocks from :func:`row_blocks`, and the blocks whose size
follows from a memory budget from :func:`rows_per_block`.
"""

# Largest number of floats one block may hold: 128 MiB of float32.
BLOCK_FLOATS = 2**25


def rows_per_block(floats_per_row, budget=None):
    """Rows a block may have when each row takes ``floats_per_row`` floats (at least one).

    ``budget`` is the block's floats, :data:`BLOCK_FLOATS` by default.

    Examples
    --------
    >>> from recfactor.utils._blocks import rows_per_block
    >>> rows_per_block(1000, budget=4096)
    4
    """
    return max(1, (BLOCK_FLOATS if budget is None else budget) // floats_per_row)


def row_blocks(n_rows, block_size):
    """Consecutive slices of ``block_size`` rows covering ``range(n_rows)``, the last shorter.

    Examples
    --------
    >>> from recfactor.utils._blocks import row_blocks
    >>> list(row_blocks(5, 2))
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    for start in range(0, n_rows, block_size):
        yield slice(start, min(start + block_size, n_rows))
