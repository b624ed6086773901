"""Where data sets live, and how a missing one is fetched."""

import hashlib
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

    ``sources`` maps a path relative to ``data_home`` to ``(url, member, sha256)``:
    ``member`` is the file's path inside the zip or tar archive at ``url``, or ``None`` when
    ``url`` is the file itself; ``sha256``, when not ``None``, is the expected checksum of the
    file (sources pinned to a commit have one). Files are written under a temporary name,
    checked, and only then renamed, so an interrupted or corrupted fetch never leaves a
    wrong data file behind.
    """
    missing = {rel: src for rel, src in sources.items() if not (data_home / rel).is_file()}
    if missing and not download_if_missing:
        first = data_home / next(iter(missing))
        raise FileNotFoundError(f"{first} does not exist and download_if_missing=False.")
    with tempfile.TemporaryDirectory() as scratch:
        archives = {}
        for relative, (url, member, sha256) in missing.items():
            target = data_home / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            if member is None:
                _download(url, partial)
            else:
                if url not in archives:
                    archives[url] = Path(scratch) / f"archive{len(archives)}"
                    _download(url, archives[url])
                _extract(archives[url], member, partial)
            _check_sha256(partial, sha256, url)
            partial.replace(target)


def _download(url, path):
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(path, "wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as exc:  # URLError is an OSError
        path.unlink(missing_ok=True)
        target = path.with_name(path.name.removesuffix(".part"))
        raise ConnectionError(
            f"Could not download {url}: {getattr(exc, 'reason', exc)}. Without a network, "
            f"put the file at {target} by hand, or point {DATA_HOME_VARIABLE} to a folder "
            "that has it."
        ) from exc


def _extract(archive, member, path):
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf, zf.open(member) as src, open(path, "wb") as out:
            shutil.copyfileobj(src, out)
        return
    with tarfile.open(archive) as tf:
        src = tf.extractfile(member)
        if src is None:
            raise ValueError(f"{member} is not a file in {archive}.")
        with src, open(path, "wb") as out:
            shutil.copyfileobj(src, out)


def _check_sha256(path, expected, url):
    if expected is None:
        return
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for chunk in iter(lambda: data.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        path.unlink()
        raise OSError(
            f"The file downloaded from {url} has SHA-256 {digest.hexdigest()}, not the "
            f"published {expected}: the source changed or the download was corrupted."
        )
