"""The book's regression data set: generate it reproducibly, load it safely.

The problem set shipped two tensor files, ``X.pt`` and ``y.pt``. We make our
own: ``N_SAMPLES`` inputs drawn uniformly from ``X_RANGE`` and targets
``TRUE_SLOPE * x + TRUE_BIAS`` plus Gaussian noise of standard deviation
``NOISE_STD``. Both tensors have shape ``(N_SAMPLES, 1)`` and dtype float32:
one row per sample, one column per feature or target, which is what a model
that maps a batch ``(B, 1)`` to ``(B, 1)`` expects.

Run ``python -m autodiff_book.data DIRECTORY`` to write the files again; the
bytes match the committed ones (and ``SHA256``) exactly. It refuses to
replace files whose content differs unless given ``--force``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import pickle
import stat
import tempfile
from pathlib import Path

import torch

from autodiff_book import checks

TRUE_SLOPE = 2.5
TRUE_BIAS = -1.0
NOISE_STD = 0.5
N_SAMPLES = 1000
X_RANGE = (-2.0, 4.0)
SEED = 9  # Problem Set 09

FILE_NAMES = ("X.pt", "y.pt")
SHAPE = (N_SAMPLES, 1)
DTYPE = torch.float32

# The manifest lives in the code, not next to the files, so that whoever can
# alter data/ cannot also make the altered files look right.
SHA256 = {
    "X.pt": "c563a371abaac97110a4d1dc82a59338f4b1a07ed87733403c07efa5689b7595",
    "y.pt": "cde80ac17b3c2819d48fca8095dcbd2c56c6febca3ee50db7abf643381522723",
}

DATA_DIR_ENV = "AUTODIFF_BOOK_DATA"
# The files' folder inside an installed wheel (pyproject.toml maps data/
# to the package autodiff_book.dataset).
PACKAGED_DATA = "dataset"


class DataSetError(Exception):
    """Base class of every problem found while loading the data set."""


class MissingDataError(DataSetError, FileNotFoundError):
    """A data file does not exist."""


class ChecksumError(DataSetError, ValueError):
    """A data file's bytes differ from the published ones."""


class DataFormatError(DataSetError, ValueError):
    """A data file is not a tensor of the expected shape and dtype."""


def make_dataset(seed: int = SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw the data set from a private generator seeded with ``seed``.

    Returns:
        ``(X, y)``, each of shape ``(N_SAMPLES, 1)`` and dtype float32.
    """
    seed = checks.check_seed("seed", seed)
    generator = torch.Generator().manual_seed(seed)
    low, high = X_RANGE
    # The dtype is explicit: a reader's torch.set_default_dtype(float64)
    # would otherwise draw other numbers from the same seed.
    uniform = torch.rand(SHAPE, generator=generator, dtype=DTYPE)
    x = low + (high - low) * uniform
    noise = NOISE_STD * torch.randn(SHAPE, generator=generator, dtype=DTYPE)
    y = TRUE_SLOPE * x + TRUE_BIAS + noise
    return x, y


def tensor_bytes(tensor: torch.Tensor) -> bytes:
    """Serialise ``tensor`` exactly as ``torch.save`` writes it to a file.

    Saving through an in-memory buffer names the archive's inner folder
    ``archive`` whatever the file is called, so the bytes depend only on the
    tensor; saving to a path would embed the file name.
    """
    # torch.save pickles anything; only a tensor with data belongs here.
    checks.check_tensor("tensor", tensor)
    buffer = io.BytesIO()
    torch.save(tensor.contiguous().clone(), buffer)
    return buffer.getvalue()


def sha256_of(path: Path) -> str:
    """Hex SHA-256 digest of the file at ``path``."""
    checks.check_path("path", path)
    if not Path(path).is_file():
        raise MissingDataError(f"path {path} is not a file")
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _umask() -> int:
    """The process's umask (reading it means setting it, then back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_temporary(directory: Path, name: str, payload: bytes) -> Path:
    """Write ``payload`` to a new hidden file beside ``name``; its path."""
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
    # mkstemp makes the file private (0600); the data file should get the
    # mode any new file gets, so that a shared folder stays readable.
    os.chmod(temporary, 0o666 & ~_umask())
    with os.fdopen(handle, "wb") as file:
        file.write(payload)
        file.flush()
        os.fsync(file.fileno())
    return Path(temporary)


def _check_target(path: Path, payload: bytes, force: bool) -> None:
    """Refuse to replace a link, a non-file, or other data unless forced."""
    if path.is_symlink():
        if force:
            return  # os.replace swaps the link itself, never its target
        raise FileExistsError(
            f"{path} is a symbolic link: refusing to replace it (its target "
            "is never written); pass --force (force=True) to replace the "
            "link by a file"
        )
    if not path.exists():
        return
    if not path.is_file():
        raise FileExistsError(
            f"{path} exists and is not a regular file; move it away first"
        )
    if path.read_bytes() != payload and not force:
        raise FileExistsError(
            f"{path} exists and its content differs from the data set's: "
            "refusing to overwrite it; pass --force (force=True) to replace "
            "it, or choose another folder"
        )


def write_dataset(
    directory: str | os.PathLike, seed: int = SEED, *, force: bool = False
) -> dict:
    """Write ``X.pt`` and ``y.pt`` into ``directory``, both or neither.

    Args:
        directory: the folder; created if missing.
        seed: the generator's seed.
        force: replace files whose content differs (or symbolic links).

    Returns:
        The SHA-256 digest of each written file, keyed by file name.
    """
    directory = Path(checks.check_path("directory", directory))
    seed = checks.check_seed("seed", seed)
    # A non-empty string such as "no" is true: it must not overwrite data.
    force = checks.check_bool("force", force)
    directory.mkdir(parents=True, exist_ok=True)
    x, y = make_dataset(seed)
    x_name, y_name = FILE_NAMES
    payloads = {x_name: tensor_bytes(x), y_name: tensor_bytes(y)}
    for name, payload in payloads.items():
        _check_target(directory / name, payload, force)
    # Both files go to temporary files first and are renamed into place
    # only when both are complete: a failure never leaves a mixed pair.
    temporary: dict[str, Path] = {}
    try:
        for name, payload in payloads.items():
            temporary[name] = _write_temporary(directory, name, payload)
        for name, path in temporary.items():
            os.replace(path, directory / name)
    finally:
        for path in temporary.values():
            path.unlink(missing_ok=True)
    return {
        name: hashlib.sha256(payload).hexdigest()
        for name, payload in payloads.items()
    }


def find_data_dir() -> Path:
    """Locate the folder that holds the data files.

    The environment variable ``AUTODIFF_BOOK_DATA`` wins. Otherwise the
    package's own ``dataset/`` folder (an installed wheel carries the
    files there: Colab has no checkout), then the repository's ``data/``
    next to ``src/`` (the package is installed in editable mode), and
    failing that the first ``data/`` holding ``X.pt`` found walking up
    from the working directory (a Binder kernel starts in the chapter's
    folder). Wherever they are found, ``load_dataset`` checks their
    SHA-256.
    """
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    packaged = Path(__file__).resolve().parent / PACKAGED_DATA
    if (packaged / FILE_NAMES[0]).exists():
        return packaged
    beside_source = Path(__file__).resolve().parents[2] / "data"
    if (beside_source / FILE_NAMES[0]).exists():
        return beside_source
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "data" / FILE_NAMES[0]).exists():
            return folder / "data"
    return beside_source


def load_tensor(path: str | os.PathLike, sha256: str | None) -> torch.Tensor:
    """Load one tensor file without ever running pickled code.

    Args:
        path: the ``.pt`` file.
        sha256: the expected digest, or ``None`` to skip that check.

    Raises:
        MissingDataError, ChecksumError, DataFormatError.
    """
    path = Path(checks.check_path("path", path))
    if sha256 is not None:
        _check_digest("sha256", sha256)
    if path.exists() and not stat.S_ISREG(path.stat().st_mode):
        # A folder or a FIFO (reading one would block): never open it.
        raise DataFormatError(
            f"data file {path} is not a regular file; move it away and "
            f"regenerate the data with `python -m autodiff_book.data "
            f"{path.parent}`"
        )
    if not path.is_file():
        raise MissingDataError(
            f"data file {path} not found; regenerate it with "
            f"`python -m autodiff_book.data {path.parent}`"
        )
    if sha256 is not None and sha256_of(path) != sha256.lower():
        raise ChecksumError(
            f"data file {path} has been altered or corrupted: its SHA-256 "
            f"is {sha256_of(path)}, expected {sha256}; regenerate it with "
            f"`python -m autodiff_book.data {path.parent}` (add --force "
            "to replace the altered file)"
        )
    try:
        # weights_only=True lets the unpickler build tensors and plain
        # containers only; a file that smuggles any other object is refused.
        loaded = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as error:
        raise DataFormatError(
            f"data file {path} holds something other than tensors and was "
            f"refused without being run ({error.__class__.__name__})"
        ) from error
    except (RuntimeError, EOFError, OSError) as error:
        raise DataFormatError(
            f"data file {path} is not a readable torch file: {error}"
        ) from error
    if not isinstance(loaded, torch.Tensor):
        raise DataFormatError(
            f"data file {path} holds a {type(loaded).__name__}, "
            "expected a single tensor"
        )
    return loaded


def check_tensor(name: str, tensor: torch.Tensor) -> None:
    """Raise ``DataFormatError`` unless ``tensor`` is ``(N, 1)`` float32.

    And dense, with data (not a meta tensor), finite: a file of one's own
    (``checksums=None``) is checked for what the book's files guarantee.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if not isinstance(tensor, torch.Tensor):
        raise DataFormatError(
            f"{name} is a {type(tensor).__name__}, expected a torch.Tensor"
        )
    if tensor.is_meta or tensor.layout != torch.strided:
        raise DataFormatError(
            f"{name} is a {'meta' if tensor.is_meta else 'sparse'} tensor, "
            "expected a dense tensor with data"
        )
    if tensor.dtype != DTYPE:
        raise DataFormatError(
            f"{name} has dtype {tensor.dtype}, expected {DTYPE}"
        )
    if tensor.ndim != 2 or tensor.shape[1] != 1 or tensor.shape[0] < 1:
        raise DataFormatError(
            f"{name} has shape {tuple(tensor.shape)}, expected (N, 1): "
            "one row per sample and a single column"
        )
    if not torch.isfinite(tensor).all():
        raise DataFormatError(
            f"{name} holds inf or nan: repair or regenerate the file"
        )


def _check_checksums(checksums) -> None:
    """``None`` or a digest of 64 hex digits (any case) for each file."""
    if checksums is None:
        return
    if not isinstance(checksums, dict):
        raise TypeError(
            "checksums must be a dict {file name: SHA-256 hex digest} or "
            f"None, got {type(checksums).__name__}"
        )
    for name in FILE_NAMES:
        if name not in checksums:
            raise ValueError(
                f"checksums has no digest for {name}: give one for each of "
                f"{', '.join(FILE_NAMES)}, or pass checksums=None to skip "
                "the check"
            )
        _check_digest(f"checksums[{name!r}]", checksums[name])


def _check_digest(name: str, digest) -> None:
    """Raise ``ValueError`` unless ``digest`` is 64 hexadecimal digits."""
    if not (
        isinstance(digest, str)
        and len(digest) == 64
        and all(c in "0123456789abcdefABCDEF" for c in digest)
    ):
        raise ValueError(
            f"{name} must be a SHA-256 digest of 64 "
            f"hexadecimal digits, got {checks.shown(digest)}"
        )


def load_dataset(
    directory: str | os.PathLike | None = None,
    *,
    checksums: dict | None = SHA256,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load and check ``X.pt`` and ``y.pt``.

    Args:
        directory: folder of the files; ``find_data_dir()`` when omitted.
        checksums: expected SHA-256 per file name; ``None`` skips the check
            (for a data set of your own).

    Returns:
        ``(X, y)``, both of shape ``(N, 1)`` and dtype float32.
    """
    directory = (
        find_data_dir()
        if directory is None
        else Path(checks.check_path("directory", directory))
    )
    _check_checksums(checksums)
    tensors = []
    for name in FILE_NAMES:
        expected = None if checksums is None else checksums[name]
        tensor = load_tensor(directory / name, expected)
        check_tensor(name, tensor)
        tensors.append(tensor)
    x, y = tensors
    if x.shape[0] != y.shape[0]:
        raise DataFormatError(
            f"X.pt has {x.shape[0]} samples but y.pt has {y.shape[0]}"
        )
    return x, y


def main(argv: list[str] | None = None) -> None:
    """Command line: write the data set and print each file's digest."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # A str, not a Path: Path("") is the current folder, and an unset
    # shell variable must not write there.
    parser.add_argument("directory", help="where to write")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace X.pt and y.pt even if their content differs",
    )
    if argv is not None and not (
        isinstance(argv, list | tuple)
        and all(isinstance(argument, str) for argument in argv)
    ):
        raise TypeError(
            f"argv must be a list of str, got {checks.shown(argv)}"
        )
    args = parser.parse_args(argv)
    try:
        digests = write_dataset(args.directory, force=args.force)
    except (OSError, TypeError, ValueError) as error:
        # One line per error, never a traceback.
        message = " ".join(str(error).split())
        parser.exit(1, f"error: {message}\n")
    for name, digest in digests.items():
        print(f"{digest}  {name}")


if __name__ == "__main__":
    main()
