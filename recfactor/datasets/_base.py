"""Where data sets live, and how a missing one is fetched."""

import os
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

__all__ = ["get_data_home"]

DATA_HOME_VARIABLE = "RECFACTOR_DATA"


def get_data_home(data_home=None):
    """Return the folder that the ``load_*`` functions read and ``fetch_*`` write.

    The ``data_home`` argument when given, else the ``RECFACTOR_DATA`` environment variable,
    else ``~/recfactor_data``. The folder is not created here (it may be read-only).

    Parameters
    ----------
    data_home : str or path-like, default=None
        An explicit folder.

    Returns
    -------
    data_home : pathlib.Path

    Examples
    --------
    >>> from recfactor.datasets import get_data_home
    >>> get_data_home("/srv/data").as_posix()
    '/srv/data'
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_VARIABLE) or Path("~") / "recfactor_data"
    return Path(data_home).expanduser()


def _check_choice(value, choices, what):
    key = value.lower() if isinstance(value, str) else value
    if key not in choices:
        raise ValueError(f"Unknown {what} {value!r}; choose one of {sorted(choices)}.")
    return key


def _require(data_home, relative_paths, fetch_hint):
    """Paths of the files a loader needs, or a FileNotFoundError naming the missing one."""
    paths = [data_home / relative for relative in relative_paths]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist. The data folder is {data_home} (set it with the "
                f"data_home argument or the {DATA_HOME_VARIABLE} environment variable); "
                f"{fetch_hint} downloads the files there."
            )
    return paths


def _fetch(data_home, sources, download_if_missing):
    """Download each missing file of ``sources``.

    ``sources`` maps a path relative to ``data_home`` to ``(url, member)``: ``member`` is the
    file's path inside the zip or tar archive at ``url``, or ``None`` when ``url`` is the file
    itself. Files are written under a temporary name and renamed when complete, so an
    interrupted fetch never leaves a half-written data file behind.
    """
    missing = {rel: src for rel, src in sources.items() if not (data_home / rel).is_file()}
    if missing and not download_if_missing:
        first = data_home / next(iter(missing))
        raise FileNotFoundError(f"{first} does not exist and download_if_missing=False.")
    with tempfile.TemporaryDirectory() as scratch:
        archives = {}
        for relative, (url, member) in missing.items():
            target = data_home / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if member is None:
                _download(url, target)
                continue
            if url not in archives:
                archives[url] = Path(scratch) / f"archive{len(archives)}"
                _download(url, archives[url])
            _extract(archives[url], member, target)


def _download(url, target):
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as exc:  # URLError is an OSError
        partial.unlink(missing_ok=True)
        raise ConnectionError(
            f"Could not download {url}: {getattr(exc, 'reason', exc)}. Without a network, "
            f"put the file at {target} by hand, or point {DATA_HOME_VARIABLE} to a folder "
            "that has it."
        ) from exc
    partial.replace(target)


def _extract(archive, member, target):
    partial = target.with_name(target.name + ".part")
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf, zf.open(member) as src, open(partial, "wb") as out:
            shutil.copyfileobj(src, out)
    else:
        with tarfile.open(archive) as tf:
            src = tf.extractfile(member)
            if src is None:
                raise ValueError(f"{member} is not a file in {archive}.")
            with src, open(partial, "wb") as out:
                shutil.copyfileobj(src, out)
    partial.replace(target)
