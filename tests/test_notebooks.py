"""The gallery as notebooks: every example converts to a valid notebook, and one runs in Jupyter.

The docs' download links are sphinx-gallery's notebooks (``docs/auto_examples/*.ipynb``);
this test makes them with the same converter (sphinx-gallery's, as its
``sphx_glr_python_to_jupyter.py`` does), validates every one with nbformat, and executes
one example that needs no downloaded data in a real ``python3`` Jupyter kernel
(nbclient, ipykernel): the notebook a user downloads runs, prints the fit, and draws.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))
# digits only (no Fashion-MNIST), a few seconds: the one executed
EXECUTED = "plot_glmnet_path"


def _need(*modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (pip install -e '.[test,docs]')")


def _notebook(src: Path):
    """The notebook sphinx-gallery makes of ``src`` for the docs' download link, read back
    as the .ipynb file would be (nbformat joins the cells' lines)."""
    _need("sphinx_gallery", "nbformat")
    import nbformat
    from sphinx_gallery import gen_gallery
    from sphinx_gallery.notebook import jupyter_notebook
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    conf = copy.deepcopy(gen_gallery.DEFAULT_GALLERY_CONF)
    _, blocks = split_code_and_text_blocks(str(src))
    return nbformat.reads(json.dumps(jupyter_notebook(blocks, conf, src.parent)), as_version=4)


@pytest.mark.parametrize("src", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_converts_to_a_valid_notebook(src):
    import nbformat

    nb = _notebook(src)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{src.name} gave a notebook without code"
    assert any("classdep" in c.source for c in code)
    # every code line of the script is in a code cell: nothing is lost in the conversion
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    text = "\n".join(c.source for c in code)
    _, blocks = split_code_and_text_blocks(str(src))
    lines = [ln.strip() for b in blocks if b.type == "code" for ln in b.content.splitlines()]
    missing = [ln for ln in lines if ln and not ln.startswith("#") and ln not in text]
    assert not missing, f"{src.name}: lines missing from the notebook: {missing[:3]}"


def test_an_example_runs_as_a_notebook(tmp_path):
    _need("nbclient", "nbformat", "ipykernel", "sphinx_gallery")
    from nbclient import NotebookClient

    nb = _notebook(ROOT / "examples" / f"{EXECUTED}.py")
    # the kernel imports classdep from this working tree, and draws inline as Jupyter does
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    client = NotebookClient(nb, kernel_name="python3", timeout=90, allow_errors=False,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)  # raises CellExecutionError, with the traceback, on any error
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "%Dev" in printed and "Lambda" in printed  # print(fit): R's table
    assert "regret" in printed  # the example's last cell ran
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) >= 2, "the notebook drew no figures"
