"""The documentation builds offline with ``-W`` and its API and gallery pages render.

The build runs in a subprocess on a copy of ``docs/`` and ``examples/`` in a temporary
directory, so that the working tree is left untouched.  The built pages load nothing
from the network: MathJax is served from the site's ``_static`` (#22).  The gallery example is executed
when Fashion-MNIST is installed; elsewhere the gallery is rendered without running it
(``-D plot_gallery=0``) and the check of its output skips with a reason.
"""

from __future__ import annotations

import importlib.util
import os
import re
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
    # "mathjax": the MathJax files of the django-static-mathjax package (offline formulas)
    wanted = ("sphinx", "pydata_sphinx_theme", "numpydoc", "sphinx_gallery", "mathjax")
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
    # a guard against a hung build, not a speed check: the gallery trains small networks
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
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


SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc=[\"']([^\"']+)[\"']", re.IGNORECASE)
# what a page loads besides scripts: stylesheets, fonts (<link href=...>); links to read (<a>) are not loads
LINK_HREF = re.compile(r"<link\b[^>]*\bhref=[\"']([^\"']+)[\"']", re.IGNORECASE)


def _external(url: str) -> bool:
    return url.startswith(("http:", "https:", "//"))


def test_theory_formulas_render_offline(built_docs):
    """The Theory page loads MathJax from the site itself, and no page loads a script from elsewhere."""
    proc, html, _ = built_docs
    assert proc.returncode == 0
    page = (html / "theory.html").read_text(encoding="utf-8")
    scripts = SCRIPT_SRC.findall(page)
    mathjax = [s for s in scripts if "mathjax" in s.lower()]
    assert mathjax, f"no MathJax script on the Theory page (scripts: {scripts})"
    assert all(s.startswith("_static/mathjax/") for s in mathjax), mathjax
    assert not [s for s in scripts if _external(s)], scripts
    assert r"\(" in page or r"\[" in page  # the formulas are there for MathJax to typeset
    static = html / "_static" / "mathjax"
    assert (static / "tex-chtml.js").stat().st_size > 100_000  # the component, not a stub
    assert "Apache License" in (static / "LICENSE").read_text(encoding="utf-8")
    assert list((static / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))  # its fonts
    external = {}
    for path in html.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        found = [s for s in SCRIPT_SRC.findall(text) + LINK_HREF.findall(text) if _external(s)]
        if found:
            external[str(path.relative_to(html))] = found
    assert not external, f"pages that load scripts or stylesheets from the network: {external}"


def test_sklearn_page_and_notebook_downloads(built_docs):
    proc, html, _ = built_docs
    assert proc.returncode == 0
    page = (html / "sklearn.html").read_text(encoding="utf-8")
    for name in ("GlmnetClassifier", "CVGlmnetClassifier", "extract_features", "resnet50"):
        assert name in page, f"{name} missing from the scikit-learn page"
    # every gallery example offers its notebook for download
    notebooks = {p.name for p in html.rglob("_downloads/*/*.ipynb")}
    for example in (ROOT / "examples").glob("plot_*.py"):
        assert f"{example.stem}.ipynb" in notebooks, f"no notebook download for {example.name}"
        gallery_page = (html / "auto_examples" / f"{example.stem}.html").read_text(encoding="utf-8")
        assert f"{example.stem}.ipynb" in gallery_page
