"""The data set: reproducible to the byte, and refused when it is wrong."""

from __future__ import annotations

import math
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from autodiff_book import data
from autodiff_book.data import (
    ChecksumError,
    DataFormatError,
    MissingDataError,
    load_dataset,
    load_tensor,
    sha256_of,
    write_dataset,
)

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "data"


def test_regenerating_reproduces_the_committed_files_bit_for_bit(tmp_path):
    digests = write_dataset(tmp_path)
    for name in data.FILE_NAMES:
        committed = COMMITTED / name
        assert (tmp_path / name).read_bytes() == committed.read_bytes()
        assert digests[name] == data.SHA256[name] == sha256_of(committed)


def test_the_command_line_writes_the_same_files(tmp_path):
    output = subprocess.run(
        [sys.executable, "-m", "autodiff_book.data", str(tmp_path)],
        check=True, capture_output=True, text=True,
    ).stdout
    for name in data.FILE_NAMES:
        assert f"{data.SHA256[name]}  {name}" in output
        assert sha256_of(tmp_path / name) == data.SHA256[name]


def test_another_seed_gives_other_data():
    x_default, _ = data.make_dataset()
    x_other, _ = data.make_dataset(seed=data.SEED + 1)
    assert not torch.equal(x_default, x_other)


def test_the_datasheet_lists_the_published_digests():
    datasheet = (COMMITTED / "README.md").read_text()
    for name, digest in data.SHA256.items():
        assert re.search(rf"{digest}\s+{re.escape(name)}", datasheet), name
    for fact in ("TRUE_SLOPE", "TRUE_BIAS", "NOISE_STD", "SEED", "N_SAMPLES"):
        assert f"`{fact} = {getattr(data, fact)}`" in datasheet, fact


def test_loaded_data_has_the_documented_shape_dtype_and_relation():
    x, y = load_dataset()
    assert x.shape == y.shape == (data.N_SAMPLES, 1)
    assert x.dtype == y.dtype == torch.float32
    low, high = data.X_RANGE
    assert low <= x.min() and x.max() <= high
    # The least-squares line recovers the ground truth to within the
    # standard error that N samples of this noise allow (about 0.01 here).
    design = torch.cat([x, torch.ones_like(x)], dim=1).double()
    slope, bias = torch.linalg.lstsq(design, y.double()).solution.ravel()
    assert slope.item() == pytest.approx(data.TRUE_SLOPE, abs=0.05)
    assert bias.item() == pytest.approx(data.TRUE_BIAS, abs=0.1)
    residual = y.double() - design @ torch.stack([slope, bias]).unsqueeze(1)
    assert residual.std().item() == pytest.approx(data.NOISE_STD, rel=0.1)


def test_the_loader_finds_the_data_from_another_working_directory(tmp_path):
    # A Binder kernel starts in book/; pytest may start anywhere.
    script = "from autodiff_book.data import load_dataset; load_dataset()"
    env = {k: v for k, v in os.environ.items() if k != data.DATA_DIR_ENV}
    subprocess.run(
        [sys.executable, "-c", script], check=True, cwd=tmp_path, env=env
    )


def test_the_environment_variable_chooses_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(MissingDataError, match=re.escape(str(tmp_path))):
        load_dataset()


@pytest.fixture
def data_copy(tmp_path):
    """A writable copy of the committed data files."""
    for name in data.FILE_NAMES:
        (tmp_path / name).write_bytes((COMMITTED / name).read_bytes())
    return tmp_path


def test_a_missing_file_is_named(data_copy):
    (data_copy / "y.pt").unlink()
    with pytest.raises(MissingDataError, match=r"y\.pt not found"):
        load_dataset(data_copy)


def test_a_missing_file_is_also_a_file_not_found_error(data_copy):
    (data_copy / "X.pt").unlink()
    with pytest.raises(FileNotFoundError):
        load_dataset(data_copy)


def test_an_altered_file_is_refused(data_copy):
    x, _ = load_dataset(data_copy)
    x[0, 0] += 1.0
    (data_copy / "X.pt").write_bytes(data.tensor_bytes(x))
    with pytest.raises(ChecksumError, match="altered or corrupted"):
        load_dataset(data_copy)


def test_a_truncated_file_is_refused(data_copy):
    payload = (data_copy / "y.pt").read_bytes()
    (data_copy / "y.pt").write_bytes(payload[: len(payload) // 2])
    with pytest.raises(ChecksumError, match=r"y\.pt has been altered"):
        load_dataset(data_copy)
    with pytest.raises(DataFormatError, match="not a readable torch file"):
        load_dataset(data_copy, checksums=None)


class Payload:
    """A pickled object that creates a marker file if it is ever unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickled_object_is_refused_without_running(tmp_path):
    path, marker = tmp_path / "X.pt", tmp_path / "ran"
    torch.save({"tensor": torch.zeros(3), "payload": Payload(marker)}, path)
    with pytest.raises(DataFormatError, match="other than tensors"):
        load_tensor(path, sha256=None)
    assert not marker.exists()


def test_a_raw_pickle_is_refused(tmp_path):
    path, marker = tmp_path / "X.pt", tmp_path / "ran"
    path.write_bytes(pickle.dumps(Payload(marker), protocol=2))
    with pytest.raises(DataFormatError, match="refused without being run"):
        load_tensor(path, sha256=None)
    assert not marker.exists()


def test_a_container_of_tensors_is_not_a_data_file(tmp_path):
    path = tmp_path / "X.pt"
    torch.save([torch.zeros(3, 1)], path)
    with pytest.raises(DataFormatError, match="holds a list"):
        load_tensor(path, sha256=None)


def write_pair(folder: Path, x: torch.Tensor, y: torch.Tensor) -> Path:
    (folder / "X.pt").write_bytes(data.tensor_bytes(x))
    (folder / "y.pt").write_bytes(data.tensor_bytes(y))
    return folder


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (torch.zeros(5), torch.zeros(5, 1), r"X\.pt has shape \(5,\)"),
        (torch.zeros(5, 1), torch.zeros(5), r"y\.pt has shape \(5,\)"),
        (torch.zeros(5, 2), torch.zeros(5, 1), r"shape \(5, 2\)"),
        (torch.zeros(0, 1), torch.zeros(0, 1), r"shape \(0, 1\)"),
        (
            torch.zeros(5, 1, dtype=torch.float64),
            torch.zeros(5, 1),
            "dtype torch.float64, expected torch.float32",
        ),
        (torch.zeros(5, 1), torch.zeros(4, 1), "5 samples but y.pt has 4"),
    ],
)
def test_wrong_shapes_and_dtypes_are_refused(tmp_path, x, y, message):
    folder = write_pair(tmp_path, x, y)
    with pytest.raises(DataFormatError, match=message):
        load_dataset(folder, checksums=None)


def test_a_data_set_of_ones_own_loads_without_checksums(tmp_path):
    x, y = torch.rand(7, 1), torch.rand(7, 1)
    loaded_x, loaded_y = load_dataset(
        write_pair(tmp_path, x, y), checksums=None
    )
    assert torch.equal(loaded_x, x) and torch.equal(loaded_y, y)


def test_every_data_error_is_a_data_set_error():
    for error in (MissingDataError, ChecksumError, DataFormatError):
        assert issubclass(error, data.DataSetError)


def test_regenerating_refuses_to_overwrite_other_data(tmp_path):
    (tmp_path / "X.pt").write_bytes(b"someone else's data")
    with pytest.raises(FileExistsError, match=r"X\.pt .*differs.*--force"):
        write_dataset(tmp_path)
    assert (tmp_path / "X.pt").read_bytes() == b"someone else's data"
    assert not (tmp_path / "y.pt").exists()  # nothing half-written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.pt"]


def test_regenerating_over_identical_files_is_fine(tmp_path):
    write_dataset(tmp_path)
    digests = write_dataset(tmp_path)
    assert digests == data.SHA256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.pt", "y.pt"]


def test_force_overwrites_other_data(tmp_path):
    (tmp_path / "y.pt").write_bytes(b"old")
    write_dataset(tmp_path, force=True)
    assert sha256_of(tmp_path / "y.pt") == data.SHA256["y.pt"]


def test_the_command_line_refuses_without_force(tmp_path):
    (tmp_path / "y.pt").write_bytes(b"old")
    command = [sys.executable, "-m", "autodiff_book.data", str(tmp_path)]
    refused = subprocess.run(command, capture_output=True, text=True)
    assert refused.returncode != 0
    assert "--force" in refused.stderr
    assert (tmp_path / "y.pt").read_bytes() == b"old"
    subprocess.run([*command, "--force"], check=True, capture_output=True)
    assert sha256_of(tmp_path / "y.pt") == data.SHA256["y.pt"]


@pytest.mark.parametrize("force", [False, True])
def test_regenerating_never_writes_through_a_symlink(tmp_path, force):
    precious = tmp_path / "precious.txt"
    precious.write_bytes(b"keep me")
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "X.pt").symlink_to(precious)
    if force:
        write_dataset(folder, force=True)
        assert not (folder / "X.pt").is_symlink()
        assert sha256_of(folder / "X.pt") == data.SHA256["X.pt"]
    else:
        with pytest.raises(FileExistsError, match="symbolic link"):
            write_dataset(folder)
    assert precious.read_bytes() == b"keep me"


def test_a_failure_halfway_leaves_no_mismatched_pair(tmp_path, monkeypatch):
    write_dataset(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    calls = []
    original = data._write_temporary

    def failing_write(directory, name, payload):
        calls.append(name)
        if len(calls) == 2:  # the second file: the first is written
            raise OSError("disk full")
        return original(directory, name, payload)

    monkeypatch.setattr(data, "_write_temporary", failing_write)
    with pytest.raises(OSError, match="disk full"):
        write_dataset(tmp_path, seed=data.SEED + 1, force=True)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before  # no temporary file left, no file replaced


@pytest.mark.parametrize(
    ("checksums", "error", "message"),
    [
        ({}, ValueError, r"checksums has no digest for X\.pt"),
        ({"X.pt": "ab", "y.pt": "cd"}, ValueError, "64 hexadecimal digits"),
        ([], TypeError, "checksums must be a dict"),
    ],
)
def test_bad_checksums_are_named(checksums, error, message):
    with pytest.raises(error, match=message):
        load_dataset(COMMITTED, checksums=checksums)


def test_uppercase_digests_are_the_same_digests():
    upper = {name: digest.upper() for name, digest in data.SHA256.items()}
    x, y = load_dataset(COMMITTED, checksums=upper)
    assert x.shape == y.shape == (data.N_SAMPLES, 1)


def test_a_folder_where_a_file_should_be_is_named(data_copy):
    (data_copy / "X.pt").unlink()
    (data_copy / "X.pt").mkdir()
    with pytest.raises(DataFormatError, match=r"X\.pt is not a regular file"):
        load_dataset(data_copy)


def test_a_fifo_where_a_file_should_be_is_named_without_blocking(data_copy):
    (data_copy / "y.pt").unlink()
    os.mkfifo(data_copy / "y.pt")
    with pytest.raises(DataFormatError, match=r"y\.pt is not a regular file"):
        load_dataset(data_copy)


def test_regenerating_creates_missing_parent_folders(tmp_path):
    folder = tmp_path / "a" / "b"
    write_dataset(folder)
    assert sha256_of(folder / "X.pt") == data.SHA256["X.pt"]


def test_the_data_set_is_float32_as_drawn():
    x, y = data.make_dataset()
    assert x.dtype == y.dtype == torch.float32
    assert x.shape == y.shape == data.SHAPE


def test_main_prints_each_digest_and_refuses_without_force(tmp_path, capsys):
    data.main([str(tmp_path)])
    assert capsys.readouterr().out == "".join(
        f"{data.SHA256[name]}  {name}\n" for name in data.FILE_NAMES
    )
    (tmp_path / "X.pt").write_bytes(b"other")
    with pytest.raises(SystemExit) as caught:
        data.main([str(tmp_path)])
    assert caught.value.code == 1
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'X.pt'} exists and its content differs from "
        "the data set's: refusing to overwrite it; pass --force (force=True) "
        "to replace it, or choose another folder\n"
    )
    data.main([str(tmp_path), "--force"])
    assert sha256_of(tmp_path / "X.pt") == data.SHA256["X.pt"]


def test_temporary_files_live_beside_their_target(tmp_path, monkeypatch):
    # A rename is atomic only within one file system: the temporary files
    # must be created in the target folder, named after their file.
    replaced = []
    real_replace = os.replace

    def recording_replace(source, target):
        replaced.append((Path(source), Path(target)))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", recording_replace)
    folder = tmp_path / "out"
    write_dataset(folder)
    assert [target.name for _, target in replaced] == ["X.pt", "y.pt"]
    for source, target in replaced:
        assert source.parent == folder == target.parent
        assert source.name.startswith(f".{target.name}.")


def test_refusals_in_full(tmp_path):
    (tmp_path / "X.pt").mkdir()
    with pytest.raises(FileExistsError) as caught:
        write_dataset(tmp_path, force=True)
    assert str(caught.value) == (
        f"{tmp_path / 'X.pt'} exists and is not a regular file; move it "
        "away first"
    )
    link = tmp_path / "link"
    link.mkdir()
    (link / "X.pt").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(FileExistsError) as caught:
        write_dataset(link)
    assert str(caught.value) == (
        f"{link / 'X.pt'} is a symbolic link: refusing to replace it (its "
        "target is never written); pass --force (force=True) to replace "
        "the link by a file"
    )


def test_the_data_folder_beside_the_source_is_found_first(monkeypatch):
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    expected = Path(data.__file__).resolve().parents[2] / "data"
    assert data.find_data_dir() == expected


@pytest.mark.parametrize("where", ["beside the source", "above the cwd"])
def test_the_data_folder_is_found_by_its_x_file(tmp_path, monkeypatch, where):
    # Only X.pt exists: that file marks the folder.
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    source = tmp_path / "pkg" / "src" / "autodiff_book" / "data.py"
    monkeypatch.setattr(data, "__file__", str(source))
    folder = tmp_path / ("pkg" if where == "beside the source" else "work")
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "X.pt").write_bytes(b"")
    (tmp_path / "work" / "book").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work" / "book")
    assert data.find_data_dir() == folder / "data"


def test_a_one_sample_data_set_loads(tmp_path):
    x, y = torch.ones(1, 1), torch.zeros(1, 1)
    loaded_x, loaded_y = load_dataset(write_pair(tmp_path, x, y),
                                      checksums=None)
    assert loaded_x.shape == loaded_y.shape == (1, 1)


def test_load_error_messages_in_full(tmp_path, data_copy):
    (data_copy / "X.pt").write_bytes(data.tensor_bytes(torch.zeros(3, 1)))
    with pytest.raises(ChecksumError) as caught:
        load_dataset(data_copy)
    path = data_copy / "X.pt"
    assert str(caught.value) == (
        f"data file {path} has been altered or corrupted: its SHA-256 is "
        f"{sha256_of(path)}, expected {data.SHA256['X.pt']}; regenerate it "
        f"with `python -m autodiff_book.data {data_copy}` (add --force to "
        "replace the altered file)"
    )
    torch.save([torch.zeros(3, 1)], tmp_path / "list.pt")
    with pytest.raises(DataFormatError) as caught:
        load_tensor(tmp_path / "list.pt", sha256=None)
    assert str(caught.value) == (
        f"data file {tmp_path / 'list.pt'} holds a list, expected a single "
        "tensor"
    )
    with pytest.raises(DataFormatError) as caught:
        data.check_tensor("y.pt", torch.zeros(3))
    assert str(caught.value) == (
        "y.pt has shape (3,), expected (N, 1): one row per sample and a "
        "single column"
    )


@pytest.mark.parametrize(
    ("checksums", "message"),
    [
        ([], "checksums must be a dict {file name: SHA-256 hex digest} or "
             "None, got list"),
        ({"X.pt": "0" * 64}, "checksums has no digest for y.pt: give one "
         "for each of X.pt, y.pt, or pass checksums=None to skip the check"),
        ({"X.pt": "X" * 64, "y.pt": "0" * 64},
         f"checksums['X.pt'] must be a SHA-256 digest of 64 hexadecimal "
         f"digits, got {'X' * 64!r}"),
    ],
)
def test_checksum_errors_in_full(checksums, message):
    with pytest.raises((TypeError, ValueError)) as caught:
        load_dataset(COMMITTED, checksums=checksums)
    assert str(caught.value) == message


def test_the_data_set_is_float32_whatever_the_default_dtype():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        x, y = data.make_dataset()
    finally:
        torch.set_default_dtype(previous)
    assert x.dtype == y.dtype == torch.float32
    assert data.tensor_bytes(x) == (COMMITTED / "X.pt").read_bytes()


def test_the_command_line_help_in_full(monkeypatch, capsys):
    # What `python -m autodiff_book.data --help` shows: the module's first
    # docstring line and what each argument does. argparse names the
    # program after sys.argv[0] and wraps at $COLUMNS: both pinned here.
    monkeypatch.setattr(sys, "argv", [str(Path(data.__file__))])
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as caught:
        data.main(["--help"])
    assert caught.value.code == 0
    assert capsys.readouterr().out == (
        "usage: data.py [-h] [--force] directory\n"
        "\n"
        "The book's regression data set: generate it reproducibly, load it "
        "safely.\n"
        "\n"
        "positional arguments:\n"
        "  directory   where to write\n"
        "\n"
        "options:\n"
        "  -h, --help  show this help message and exit\n"
        "  --force     replace X.pt and y.pt even if their content differs\n"
    )


def test_the_folder_beside_the_source_wins_over_one_above_the_cwd(
    tmp_path, monkeypatch
):
    # Both folders hold X.pt (and only X.pt): the editable install's own
    # data/ comes first, whatever the working directory offers.
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    source = tmp_path / "pkg" / "src" / "autodiff_book" / "data.py"
    monkeypatch.setattr(data, "__file__", str(source))
    for folder in (tmp_path / "pkg" / "data", tmp_path / "work" / "data"):
        folder.mkdir(parents=True)
        (folder / "X.pt").write_bytes(b"")
    monkeypatch.chdir(tmp_path / "work")
    assert data.find_data_dir() == tmp_path / "pkg" / "data"


def test_pickled_code_is_refused_even_if_the_environment_allows_it(
    tmp_path, monkeypatch
):
    # torch.load honours TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD (and then runs
    # pickled code) unless the call says weights_only=True itself.
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    path, marker = tmp_path / "X.pt", tmp_path / "ran"
    path.write_bytes(pickle.dumps(Payload(marker), protocol=2))
    with pytest.raises(DataFormatError) as caught:
        load_tensor(path, sha256=None)
    assert str(caught.value) == (
        f"data file {path} holds something other than tensors and was "
        "refused without being run (UnpicklingError)"
    )
    assert not marker.exists()


def test_a_tensor_saved_from_a_gpu_loads_onto_the_cpu(tmp_path, monkeypatch):
    # A data set of one's own may come from a machine with a GPU: the file
    # then says "cuda:0". Saving with that location tag makes such a file
    # here; it must load onto the CPU, with or without a GPU present.
    values = torch.arange(3.0).reshape(3, 1)
    with monkeypatch.context() as patch:
        patch.setattr(
            torch.serialization, "location_tag", lambda storage: "cuda:0"
        )
        torch.save(values, tmp_path / "X.pt")
    loaded = load_tensor(tmp_path / "X.pt", sha256=None)
    assert loaded.device == torch.device("cpu")
    assert loaded.shape == values.shape
    assert torch.equal(loaded, values)


# Hostile input, round 2 (issue 24).


def test_the_command_line_refuses_an_empty_folder_name(tmp_path):
    # "" is what an unset shell variable gives; Path("") is the cwd.
    refused = subprocess.run(
        [sys.executable, "-m", "autodiff_book.data", ""],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert refused.returncode != 0
    assert list(tmp_path.iterdir()) == []
    assert refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("error: directory is empty")


def test_the_command_line_reports_a_file_in_the_way_on_one_line(
    tmp_path, capsys
):
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(SystemExit) as caught:
        data.main([str(tmp_path / "taken" / "data")])
    assert caught.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "Traceback" not in err


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_written_files_get_the_mode_the_umask_gives(tmp_path, mask):
    # mkstemp makes its files 0600: another user of a shared folder could
    # no longer read the data, even after rewriting identical bytes.
    previous = os.umask(mask)
    try:
        write_dataset(tmp_path)
        first = [mode(tmp_path / n) for n in data.FILE_NAMES]
        write_dataset(tmp_path)  # identical bytes, written again
        again = [mode(tmp_path / n) for n in data.FILE_NAMES]
    finally:
        os.umask(previous)
    assert first == again == [0o666 & ~mask] * 2


@pytest.mark.parametrize("force", ["no", 1, None, "False"])
def test_force_must_be_a_bool(tmp_path, force):
    (tmp_path / "X.pt").write_bytes(b"the user's own data")
    with pytest.raises(TypeError, match="^force must be True or False"):
        write_dataset(tmp_path, force=force)
    assert (tmp_path / "X.pt").read_bytes() == b"the user's own data"


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (torch.full((3, 1), math.nan), "X.pt holds inf or nan"),
        (torch.zeros(3, 1).to_sparse(), "X.pt is a sparse tensor"),
        (torch.zeros(3, 1, device="meta"), "X.pt is a meta tensor"),
    ],
)
def test_a_data_set_of_ones_own_is_checked_like_the_books(tmp_path, x,
                                                         message):
    torch.save(x, tmp_path / "X.pt")
    torch.save(torch.zeros(3, 1), tmp_path / "y.pt")
    with pytest.raises(DataFormatError, match=f"^{re.escape(message)}"):
        load_dataset(tmp_path, checksums=None)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda p: write_dataset(""), ValueError, "directory is empty"),
        (lambda p: write_dataset(7), TypeError, "directory must be a str"),
        (lambda p: write_dataset(p, seed=10**400), ValueError,
         "seed must lie between"),
        (lambda p: write_dataset(p, seed="9"), TypeError,
         "seed must be an int"),
        (lambda p: load_dataset(""), ValueError, "directory is empty"),
        (lambda p: load_tensor(p / "X.pt", 12), ValueError,
         "sha256 must be a SHA-256 digest"),
        (lambda p: load_tensor(b"X.pt", None), TypeError,
         "path must be a str"),
        (lambda p: sha256_of(None), TypeError, "path must be a str"),
        (lambda p: sha256_of("a\0b"), ValueError,
         "path contains a NUL character"),
        (lambda p: data.tensor_bytes("not a tensor"), TypeError,
         "tensor must be a torch.Tensor"),
        (lambda p: data.make_dataset(2**64), ValueError,
         "seed must lie between"),
        (lambda p: data.check_tensor("X.pt", [[1.0]]), DataFormatError,
         "X.pt is a list, expected a torch.Tensor"),
        (lambda p: data.main(["--force", 3]), TypeError,
         r"^argv must be a list of str, got \['--force', 3\]$"),
        (lambda p: data.main(["out", 3]), TypeError,
         re.escape("argv must be a list of str, got ['out', 3]") + "$"),
    ],
)
def test_hostile_arguments_get_the_packages_own_error(tmp_path, call, error,
                                                      match):
    with pytest.raises(error, match=match):
        call(tmp_path)


def test_write_dataset_pairs_each_file_name_with_one_tensor(
    tmp_path, monkeypatch
):
    # A name without a tensor is an error in the package, not a file
    # silently left unwritten.
    monkeypatch.setattr(data, "FILE_NAMES", (*data.FILE_NAMES, "z.pt"))
    with pytest.raises(ValueError, match="values to unpack"):
        write_dataset(tmp_path)
    assert not list(tmp_path.iterdir())


def test_data_errors_about_content_are_value_errors():
    # The package's errors are TypeError or ValueError; a file of the
    # wrong content is a bad value, and stays a DataSetError.
    assert issubclass(DataFormatError, ValueError)
    assert issubclass(ChecksumError, ValueError)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: sha256_of("/nonexistent/X.pt"), MissingDataError,
         "path /nonexistent/X.pt is not a file"),
        (lambda: data.check_tensor(3, torch.ones(2)), TypeError,
         "name must be a str, got int"),
        (lambda: data.check_tensor("X.pt", torch.ones(2, device="meta")),
         DataFormatError,
         "X.pt is a meta tensor, expected a dense tensor with data"),
        (lambda: data.check_tensor("X.pt", torch.ones(2).to_sparse()),
         DataFormatError,
         "X.pt is a sparse tensor, expected a dense tensor with data"),
    ],
)
def test_data_refusals_read_in_full(call, error, message):
    with pytest.raises(error) as caught:
        call()
    assert str(caught.value) == message


def test_the_packaged_folder_is_found_by_its_x_file_and_wins(
    tmp_path, monkeypatch
):
    # An installed wheel's dataset/ (holding only X.pt here) comes before
    # a data/ beside the source and one above the working directory.
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    source = tmp_path / "pkg" / "src" / "autodiff_book" / "data.py"
    monkeypatch.setattr(data, "__file__", str(source))
    packaged = source.parent / data.PACKAGED_DATA
    for folder in (packaged, tmp_path / "pkg" / "data",
                   tmp_path / "work" / "data"):
        folder.mkdir(parents=True)
        (folder / "X.pt").write_bytes(b"")
    monkeypatch.chdir(tmp_path / "work")
    assert data.find_data_dir() == packaged
