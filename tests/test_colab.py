"""Open in Colab, simulated: every published notebook runs where only
torch, numpy, matplotlib, scikit-learn and a kernel are installed.

Colab has those preinstalled (scikit-learn among them) but no checkout of
the book: each notebook's first cell must install the helper package and
its data set. Here each notebook of both editions (``_build/publish``,
written by the session's problem-set build) runs top to bottom with nbclient
in a fresh virtual environment of its own, from an empty working folder,
with no repository on the path: the environment sees only those packages
(and pip), taken from the test environment's installed files (the same
pinned distributions, linked, so that no 700 MB of torch is copied per
run), and pip may use no index. The install cell takes the package from
the wheel the build published (``$AUTODIFF_BOOK_WHEEL``: there is no
network here); on Colab it downloads the same file from the published
branch. Cells tagged ``raises-exception`` (a starter's ``NotDone``) may
raise; any other error fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import nbclient
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from packaging.requirements import Requirement

from book_tools import publish
from book_tools.project import ROOT
from tests.test_student_edition import PROBLEMS, unexpected_errors, verdicts

# What Colab has and the notebooks may use, plus a kernel and pip.
PREINSTALLED = ("torch", "numpy", "matplotlib", "scikit-learn", "ipykernel",
                "pip")
# Two kernels at a time, one thread each: the chapters' tensors are small,
# and torch's threads only fight over the cores.
CONCURRENT_KERNELS = 2
THREADS = {name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def closure(names: tuple[str, ...]) -> set[str]:
    """The installed distributions ``names`` need, themselves included."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        dist = metadata.distribution(name)
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(
                    {"extra": ""}):
                todo.append(requirement.name)
    return seen


def link_distributions(names: set[str], folder: Path) -> None:
    """Link each distribution's top-level files and folders into
    ``folder`` (a site-packages of its own)."""
    folder.mkdir(parents=True)
    for name in names:
        dist = metadata.distribution(name)
        site = Path(dist.locate_file(""))
        tops = {Path(str(f)).parts[0] for f in dist.files or []
                if not str(f).startswith("..")}
        for top in tops:
            target = folder / top
            if (site / top).exists() and not target.exists():
                target.symlink_to(site / top)


@pytest.fixture(scope="session")
def colab_base(tmp_path_factory) -> Path:
    """The preinstalled packages, one folder shared by every environment."""
    names = closure(PREINSTALLED)
    assert not {"autodiff-book", "autodiff-book-tools", "myst-nb",
                "jupyter-book"} & names
    base = tmp_path_factory.mktemp("colab") / "preinstalled"
    link_distributions(names, base)
    return base


def fresh_environment(base: Path, folder: Path) -> Path:
    """A new virtual environment that sees ``base``; its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip",
                    str(folder)], check=True)
    python = folder / "bin" / "python"
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; "
         "print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    (site / "preinstalled.pth").write_text(f"{base}\n")
    return python


def kernel_manager(python: Path, specs: Path, name: str) -> AsyncKernelManager:
    """A kernel manager that starts ``python``'s ipykernel."""
    (specs / name).mkdir(parents=True)
    (specs / name / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"],
        "display_name": name, "language": "python"}))
    return AsyncKernelManager(
        kernel_name=name,
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]))


def errors_outside_raises_exception(notebook) -> list[str]:
    """Errors of cells that are not allowed to raise."""
    return [f"{output.ename}: {output.evalue}"
            for cell in notebook.cells if cell.cell_type == "code"
            and "raises-exception" not in cell.metadata.get("tags", [])
            for output in cell.get("outputs", [])
            if output.output_type == "error"]


async def run_notebook(path: Path, base: Path, scratch: Path,
                       wheel: Path, env: dict) -> dict:
    """Run one notebook in its own fresh environment; what happened."""
    folder = scratch / f"{path.parent.name}-{path.stem}"
    python = await asyncio.to_thread(fresh_environment, base,
                                     folder / "venv")
    work = folder / "work"
    work.mkdir()
    notebook = nbformat.read(path, as_version=4)
    manager = kernel_manager(python, folder / "kernels", "colab")
    client = nbclient.NotebookClient(
        notebook, km=manager, timeout=300, allow_errors=False)
    start = time.perf_counter()
    await client.async_execute(cwd=str(work), env={
        **env, publish.WHEEL_ENV: str(wheel)})
    installed = sorted(p.name for p in (python.parent.parent / "lib")
                       .glob("python*/site-packages/autodiff_book"))
    return {"notebook": f"{path.parent.name}/{path.name}",
            "seconds": time.perf_counter() - start,
            "installed": installed,
            "work": sorted(p.name for p in work.iterdir()),
            "errors": errors_outside_raises_exception(notebook),
            "executed": notebook}


def kernel_environment(scratch: Path) -> dict:
    """The kernel's environment: no repository, no index, no book data."""
    drop = {"PYTHONPATH", "VIRTUAL_ENV", "AUTODIFF_BOOK_DATA",
            "AUTODIFF_BOOK_PROJECT", "PYTHONHOME"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS="", PIP_NO_CACHE_DIR="1",
               MPLCONFIGDIR=str(scratch / "matplotlib"),
               PATH=os.defpath, **THREADS)
    return env


async def run_all(paths, base, scratch, wheel) -> list[dict]:
    limit = asyncio.Semaphore(CONCURRENT_KERNELS)
    env = kernel_environment(scratch)
    # The longest first (their size tells), so that no long one starts last.
    paths = sorted(paths, key=lambda path: -path.stat().st_size)

    async def one(path):
        async with limit:
            return await run_notebook(path, base, scratch, wheel, env)

    return await asyncio.gather(*(one(path) for path in paths))


@pytest.fixture(scope="session")
def colab_runs(student_edition, colab_base, tmp_path_factory) -> list[dict]:
    """Every published notebook of both editions, run as on Colab."""
    published = student_edition.parent / "publish"
    paths = sorted(published.glob("*/*.ipynb"))
    assert {p.parent.name for p in paths} == set(publish.FOLDERS.values())
    wheel = published / "packages" / publish.wheel_name(
        publish.package_version(ROOT))
    start = time.perf_counter()
    results = asyncio.run(run_all(paths, colab_base,
                                  tmp_path_factory.mktemp("colab-runs"),
                                  wheel))
    print(f"\n[colab] {len(results)} notebooks in "
          f"{time.perf_counter() - start:.0f} s: "
          + ", ".join(f"{r['notebook']} {r['seconds']:.0f} s"
                      for r in results))
    return results


def test_every_published_notebook_runs_as_on_colab(colab_runs,
                                                   student_edition):
    published = student_edition.parent / "publish"
    assert sorted(r["notebook"] for r in colab_runs) == sorted(
        f"{p.parent.name}/{p.name}" for p in published.glob("*/*.ipynb"))
    for result in colab_runs:
        assert result["errors"] == [], result
        # The first cell installed the package into that environment.
        assert result["installed"] == ["autodiff_book"], result
    assert len(colab_runs) == 2 * len(list(published.glob("book/*.ipynb")))


def test_the_starter_notebooks_run_to_not_done_verdicts(colab_runs):
    # The shipped starter notebooks, run from the .ipynb files: every
    # self-check says "not done", and a starter stops only at a todo.
    found = []
    for result in colab_runs:
        if result["notebook"].startswith(publish.FOLDERS["student"] + "/"):
            assert unexpected_errors(result["executed"]) == [], result
            found += verdicts(result["executed"])
    assert len(found) == len(PROBLEMS)
    assert all(": not done." in verdict for verdict in found), found


def test_the_fresh_environment_has_torch_but_not_the_book(colab_base,
                                                          tmp_path):
    # The control: without its install cell a notebook could not import
    # the package, nor myst-nb's glue; torch and the kernel are there.
    python = fresh_environment(colab_base, tmp_path / "venv")
    probe = ("import importlib.util as u; print([u.find_spec(n) is None "
             "for n in ('torch', 'sklearn', 'ipykernel', 'autodiff_book', "
             "'book_tools', 'myst_nb')])")
    process = subprocess.run([str(python), "-c", probe], cwd=tmp_path,
                             capture_output=True, text=True,
                             env=kernel_environment(tmp_path))
    assert process.stdout.split() == [
        "[False,", "False,", "False,", "True,", "True,", "True]"], (
        process.stderr)


def test_the_published_branch_s_binder_installs_the_wheel_and_its_data(
        student_edition, colab_base, tmp_path):
    # binder/postBuild of the notebooks branch, run as repo2docker runs
    # it; the package then loads the data set from inside the wheel, its
    # SHA-256 checked.
    published = student_edition.parent / "publish"
    python = fresh_environment(colab_base, tmp_path / "venv")
    env = kernel_environment(tmp_path)
    subprocess.run(["bash", str(published / "binder" / "postBuild")],
                   env={**env, "NB_PYTHON_PREFIX": str(tmp_path / "venv")},
                   check=True, capture_output=True)
    probe = ("from autodiff_book import data; x, y = data.load_dataset(); "
             "print(data.find_data_dir().relative_to("
             "data.find_data_dir().parents[1]), tuple(x.shape))")
    process = subprocess.run([str(python), "-c", probe], cwd=tmp_path,
                             capture_output=True, text=True, env=env)
    assert process.stdout.split() == ["autodiff_book/dataset", "(1000,",
                                      "1)"], process.stderr
