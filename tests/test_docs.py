"""The documentation builds offline with ``-W`` and its API and gallery pages render.

The build runs in a subprocess on a copy of ``docs/`` and ``examples/`` in a temporary
directory, so that the working tree is left untouched.  The gallery example is executed
when Fashion-MNIST is installed; elsewhere the gallery is rendered without running it
(``-D plot_gallery=0``) and the check of its output skips with a reason.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.docs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = "plot_fashion_mnist_features"
BUILD_OUTPUTS = ("_build", "generated", "auto_examples", "sg_execution_times.rst")


def _missing_doc_tools() -> list[str]:
    wanted = ("sphinx", "pydata_sphinx_theme", "numpydoc", "sphinx_gallery")
    return [m for m in wanted if importlib.util.find_spec(m) is None]


def _fashion_mnist_missing() -> str | None:
    """Why the gallery cannot run here, or None when Fashion-MNIST can be read."""
    from classdep.datasets import fashion_mnist_dir

    try:
        fashion_mnist_dir()
    except FileNotFoundError as exc:
        return f"Fashion-MNIST is not available ({type(exc).__name__}: {exc})"
    return None


@pytest.fixture(scope="module")
def built_docs(tmp_path_factory):
    """Build the site once: (completed process, html directory, why the gallery did not run)."""
    missing = _missing_doc_tools()
    if missing:
        pytest.skip(
            f"documentation tools not importable: {', '.join(missing)} (pip install -e '.[docs]')"
        )
    src = tmp_path_factory.mktemp("docs_src")
    shutil.copytree(ROOT / "docs", src / "docs", ignore=shutil.ignore_patterns(*BUILD_OUTPUTS))
    shutil.copytree(ROOT / "examples", src / "examples")
    html = src / "html"

    no_data = _fashion_mnist_missing()
    options = ["-W", "--keep-going", "-b", "html", "-d", str(src / "doctrees")]
    if no_data:
        options += ["-D", "plot_gallery=0"]
    cmd = [sys.executable, "-m", "sphinx", *options, str(src / "docs"), str(html)]
    pythonpath = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join(filter(None, pythonpath)))
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    return proc, html, no_data


def test_docs_build_without_warnings(built_docs):
    proc, _, _ = built_docs
    log = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, f"sphinx -W failed (exit {proc.returncode}):\n{log}"


def test_api_page_lists_public_functions(built_docs):
    proc, html, _ = built_docs
    assert proc.returncode == 0
    page = (html / "api" / "index.html").read_text(encoding="utf-8")
    for name in (
        "as_features",
        "load_features",
        "save_features",
        "digits",
        "fashion_mnist_features",
        "make_mixture",
        "resolve_device",
        "check_labels",
    ):
        assert name in page, f"{name} missing from the API page"
    stub = html / "api" / "generated" / "classdep.datasets.fashion_mnist_features.html"
    assert stub.is_file()
    assert "alpha" in stub.read_text(encoding="utf-8")  # its documented parameter


def test_gallery_page_renders(built_docs):
    proc, html, _ = built_docs
    assert proc.returncode == 0
    index = (html / "auto_examples" / "index.html").read_text(encoding="utf-8")
    assert EXAMPLE in index
    page = (html / "auto_examples" / f"{EXAMPLE}.html").read_text(encoding="utf-8")
    assert "Fashion-MNIST features" in page
    assert "fashion_mnist_features" in page


def test_gallery_example_was_executed(built_docs):
    proc, html, no_data = built_docs
    if no_data:
        pytest.skip(f"gallery not executed: {no_data}")
    assert proc.returncode == 0
    page = (html / "auto_examples" / f"{EXAMPLE}.html").read_text(encoding="utf-8")
    assert "xarray.Dataset" in page  # the printed Dataset
    assert "Pullover" in page  # the class counts, by name
    figures = list((html / "_images").glob(f"sphx_glr_{EXAMPLE}_*.png"))
    assert figures, "the example drew no figure"
