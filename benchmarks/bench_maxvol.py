"""Time recfactor's maxvol kernels against teneva and a vectorised NumPy maxvol.

Run: ``python benchmarks/bench_maxvol.py [--rect-shape 8000 100 --rect-rows 800]
[--square-shape 100000 200] [--repeat 3]``.

(a) ``rect_maxvol`` selects exactly ``--rect-rows`` rows of a Gaussian matrix
(``min_rows=max_rows``), against ``teneva.maxvol_rect`` (pure NumPy) with the same square start
(``e0=1.05``, ``k0=100``, recfactor's defaults) and the same number of added rows
(``dr_min=dr_max``), so both do the same work. teneva is optional (``pip install teneva``); the
comparison is skipped with a message when it is missing.

(b) square ``maxvol`` (tol 1.05) against the NumPy recipe: ``scipy.linalg.lu`` with
``p_indices=True``, a solve for the coefficients, then per swap ``np.argmax(np.abs(B))`` and
an ``np.outer`` rank-1 update.

Every method is called once before timing (so numba's compilation, or loading it from the
cache, is excluded); each time is the best of ``--repeat`` runs. The table gives seconds and
each peer's time as a multiple of recfactor's.
"""

import argparse
import os
import time

import numpy as np
import scipy.linalg

from recfactor.feature_selection import maxvol, rect_maxvol


def numpy_maxvol(A, tol=1.05, max_iters=100):
    """Square maxvol in vectorised NumPy, the way it is usually written."""
    n, r = A.shape
    p, _, _ = scipy.linalg.lu(A, p_indices=True)
    pivots = np.argsort(p)[:r]
    B = np.linalg.solve(A[pivots].T, A.T).T
    for _ in range(max_iters):
        i, j = divmod(int(np.argmax(np.abs(B))), r)
        if abs(B[i, j]) <= tol:
            break
        v = B[i].copy()
        v[j] -= 1.0
        B -= np.outer(B[:, j] / B[i, j], v)
        pivots[j] = i
    return pivots, B


def best_time(repeat, function, *args, **kwargs):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return result, min(times)


def table(rows):
    print("| method | seconds | x recfactor |\n|---|---|---|")
    for name, seconds, reference in rows:
        print(f"| {name} | {seconds:.3f} | {seconds / reference:.1f} |")


def bench_rect(n, r, rows, repeat):
    A = np.random.default_rng(0).standard_normal((n, r))
    rect_maxvol(A[: 2 * r], min_rows=r + 1, max_rows=r + 1)  # compile or load from the cache
    (pivots, C), t_ours = best_time(repeat, rect_maxvol, A, min_rows=rows, max_rows=rows)
    print(f"\n(a) rect_maxvol: {rows} rows of a {n} x {r} Gaussian matrix "
          f"(square start tol=1.05, <= 100 swaps; then {rows - r} rows added)")
    results = [("recfactor rect_maxvol", t_ours, t_ours)]
    try:
        import teneva
    except ImportError:
        print("teneva is not installed (pip install teneva): comparison skipped.")
    else:
        teneva.maxvol_rect(A[: 2 * r], dr_min=1, dr_max=1, e0=1.05, k0=100)
        (theirs, _), t_teneva = best_time(
            repeat, teneva.maxvol_rect, A, e=1.1, dr_min=rows - r, dr_max=rows - r, e0=1.05,
            k0=100,
        )
        same = np.array_equal(np.asarray(theirs), pivots)
        overlap = len(set(theirs.tolist()) & set(pivots.tolist())) / rows
        print(f"same ordered pivots as teneva {teneva.__version__}: {same} "
              f"(same set: {overlap:.1%})")
        results.append((f"teneva {teneva.__version__} maxvol_rect", t_teneva, t_ours))
    error = np.abs(C @ A[pivots] - A).max()
    print(f"max |C @ A[pivots] - A| = {error:.1e}")
    table(results)


def bench_square(n, r, repeat):
    A = np.random.default_rng(1).standard_normal((n, r))
    maxvol(A[: 2 * r])
    numpy_maxvol(A[: 2 * r])
    (pivots, B), t_ours = best_time(repeat, maxvol, A)
    (theirs, _), t_numpy = best_time(repeat, numpy_maxvol, A)
    print(f"\n(b) square maxvol of a {n} x {r} Gaussian matrix (tol=1.05, <= 100 swaps)")
    print(f"same pivots: {np.array_equal(pivots, theirs)}, max |B| = {np.abs(B).max():.4f}")
    table([
        ("recfactor maxvol", t_ours, t_ours),
        ("NumPy (scipy.linalg.lu + np.outer updates)", t_numpy, t_ours),
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rect-shape", type=int, nargs=2, default=(8000, 100))
    parser.add_argument("--rect-rows", type=int, default=800)
    parser.add_argument("--square-shape", type=int, nargs=2, default=(100_000, 200))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; times exclude compilation (one call before timing), "
          f"best of {args.repeat}")
    bench_rect(*args.rect_shape, args.rect_rows, args.repeat)
    bench_square(*args.square_shape, args.repeat)


if __name__ == "__main__":
    main()
