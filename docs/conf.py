"""Sphinx configuration for the classdep documentation.

Build (from the repository root; works offline, warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Nothing here touches the network: there is no intersphinx, no remote image and no
theme option that fetches anything, and the pages need none either: MathJax is served
from the site's own ``_static/mathjax`` (copied from the ``django-static-mathjax``
package of the docs extra), not from a CDN.  The gallery (``examples/plot_*.py``) is
executed during the build; pass ``-D plot_gallery=0`` to render it without running it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

# Document the working tree, not whatever copy of classdep happens to be installed.
ROOT = Path(__file__).resolve().parents[1]
if (ROOT / "classdep").is_dir():
    sys.path.insert(0, str(ROOT))

# Figures are drawn off-screen while the gallery executes.
os.environ.setdefault("MPLBACKEND", "Agg")

from sphinx_gallery.sorting import ExplicitOrder  # noqa: E402

import classdep  # noqa: E402

# -- Project -------------------------------------------------------------------------

project = "classdep"
author = "classdep developers"
copyright = "classdep developers, BSD-3-Clause"
release = classdep.__version__
version = ".".join(release.split(".")[:2])

# -- General -------------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "**.ipynb_checkpoints"]
templates_path: list[str] = []
default_role = "literal"  # `x` renders as code, as in numpydoc docstrings
pygments_style = "sphinx"

# -- autodoc / autosummary / numpydoc ------------------------------------------------

autosummary_generate = True
autodoc_default_options = {"members": False}
autodoc_typehints = "none"  # numpydoc's Parameters section carries the types

numpydoc_show_class_members = False  # autosummary lists members; avoid duplicate stubs
numpydoc_class_members_toctree = False

# -- sphinx-gallery ------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # execute every plot_*.py
    # The gallery tells the study in order; examples not listed here come last.
    "within_subsection_order": ExplicitOrder([
        "plot_fashion_mnist_features.py",
        "plot_glmnet_path.py",
        "plot_cv_lambda_min.py",
        "plot_protocols.py",
        "plot_classwise_optima.py",
        "plot_bootstrap_optima.py",
        "plot_oracle_gain.py",
        "plot_augmentation_sweep.py",
        "plot_image_augmentation.py",
        "plot_backbone_seeds.py",
        "plot_distributed_sweep.py",
        "plot_discriminant_ambiguous.py",
        "plot_representations.py",
        "plot_imbalance_geometry.py",
        "*",
    ]),
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "min_reported_time": 1,
    # the execution-times pages load jQuery and DataTables from CDNs: not written, so that
    # no page needs the network (the times are still in the build's log)
    "write_computation_times": False,
    # a cell ending in plot(...) shows its figure, not "<Figure size ... with 1 Axes>"
    "ignore_repr_types": r"matplotlib[.](figure|axes|text|legend|lines|collections|image)",
    "show_memory": False,
}

# -- Math, offline -------------------------------------------------------------------
# sphinx.ext.mathjax loads MathJax from a CDN by default, so formulas showed as raw TeX
# offline.  The MathJax 3 distribution (Apache-2.0) ships in the django-static-mathjax
# package (import name ``mathjax``, no Django needed to read its files); the build copies
# the component and the files it loads on demand, with MathJax's LICENSE, into
# _static/mathjax.

MATHJAX_DIR = "mathjax"  # under the site's _static
MATHJAX_PARTS = ("tex-chtml.js", "input", "output", "a11y", "ui", "adaptors", "sre")


def _mathjax_source() -> Path:
    spec = importlib.util.find_spec("mathjax")
    dist = None
    if spec is not None and spec.submodule_search_locations:
        dist = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax"
    if dist is None or not (dist / "es5" / "tex-chtml.js").is_file():
        raise RuntimeError(
            "MathJax for the offline docs is missing: pip install django-static-mathjax "
            "(part of pip install -e '.[docs]'), which ships MathJax 3's files."
        )
    return dist


mathjax_path = f"{MATHJAX_DIR}/tex-chtml.js"  # relative: served from _static, never fetched


def _copy_mathjax(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    dist = _mathjax_source()
    target = Path(app.outdir) / "_static" / MATHJAX_DIR
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(dist / "LICENSE", target / "LICENSE")
    for part in MATHJAX_PARTS:
        src = dist / "es5" / part
        if src.is_dir():
            shutil.copytree(src, target / part, dirs_exist_ok=True)
        else:
            shutil.copy2(src, target / part)


def setup(app):
    _mathjax_source()  # fail at the start of the build, not after it
    app.connect("build-finished", _copy_mathjax)


# -- HTML ----------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"classdep {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "header_links_before_dropdown": 6,
    "icon_links": [],  # no external icons: the build and the pages stay offline
}
html_context = {"default_mode": "light"}
# Pages without sub-pages get no (empty) left sidebar; their sections are on the right.
html_sidebars = {page: [] for page in ("install", "getting_started", "user_guide", "r_users", "theory",
                                       "bootstrap_coverage", "guarantees", "benchmarks", "sklearn")}
