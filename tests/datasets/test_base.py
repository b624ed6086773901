import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from recfactor.datasets import get_data_home
from recfactor.datasets._base import _fetch, _require


def test_get_data_home_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("RECFACTOR_DATA", str(tmp_path / "env"))
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"
    assert get_data_home() == tmp_path / "env"
    monkeypatch.delenv("RECFACTOR_DATA")
    assert get_data_home() == Path.home() / "recfactor_data"
    assert not (tmp_path / "env").exists()  # reading never creates folders


def test_require_names_the_missing_file_and_the_fetch_function(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    assert _require(tmp_path, ["a.txt"], "fetch_it()") == [tmp_path / "a.txt"]
    with pytest.raises(FileNotFoundError, match=r"b\.txt does not exist.*RECFACTOR_DATA.*fetch_it"):
        _require(tmp_path, ["a.txt", "b.txt"], "fetch_it()")


def _archives(tmp_path):
    with zipfile.ZipFile(tmp_path / "data.zip", "w") as zf:
        zf.writestr("inner/ratings.dat", "1::2::3::4\n")
    with tarfile.open(tmp_path / "data.tar.gz", "w:gz") as tf:
        payload = b"h\tr\tt\n"
        info = tarfile.TarInfo("train.txt")
        info.size = len(payload)
        tf.addfile(info, io.BytesIO(payload))
    (tmp_path / "plain.txt").write_text("1 2\n")
    return tmp_path.as_uri()


def test_fetch_downloads_and_extracts_only_what_is_missing(tmp_path):
    base = _archives(tmp_path)
    home = tmp_path / "home"
    sources = {
        "a/ratings.dat": (f"{base}/data.zip", "inner/ratings.dat", None),
        "b/train.txt": (f"{base}/data.tar.gz", "train.txt", None),
        "c/plain.txt": (f"{base}/plain.txt", None, hashlib.sha256(b"1 2\n").hexdigest()),
    }
    _fetch(home, sources, download_if_missing=True)
    assert (home / "a/ratings.dat").read_text() == "1::2::3::4\n"
    assert (home / "b/train.txt").read_text() == "h\tr\tt\n"
    assert (home / "c/plain.txt").read_text() == "1 2\n"
    (tmp_path / "plain.txt").unlink()
    _fetch(home, sources, download_if_missing=True)  # present: nothing is downloaded
    assert not list(home.rglob("*.part"))


def test_fetch_without_network_says_what_to_do(tmp_path):
    sources = {"x/file.txt": ((tmp_path / "nowhere.txt").as_uri(), None, None)}
    with pytest.raises(ConnectionError, match=r"Could not download .*nowhere\.txt.*by hand"):
        _fetch(tmp_path / "home", sources, download_if_missing=True)
    assert not list((tmp_path / "home").rglob("*.part"))
    with pytest.raises(FileNotFoundError, match="download_if_missing=False"):
        _fetch(tmp_path / "home", sources, download_if_missing=False)


def test_fetch_rejects_a_file_with_the_wrong_checksum(tmp_path):
    (tmp_path / "changed.txt").write_text("not what was published\n")
    sources = {"x/file.txt": ((tmp_path / "changed.txt").as_uri(), None, "0" * 64)}
    with pytest.raises(OSError, match="has SHA-256 .* not the published 0000"):
        _fetch(tmp_path / "home", sources, download_if_missing=True)
    assert not list((tmp_path / "home").rglob("*.txt*"))
