"""cv_glmnet() under hostile inputs and faults (issue 8): bad folds and weights, damaged
checkpoints, a Dask worker killed mid-sweep, and determinism.

The SIGKILL-and-resume test lives in test_sweep.py (killed at random points there).
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import numpy as np
import pytest
from builders import quiet_cv as _cv

import classdep as cd

LAMS = np.geomspace(1.0, 1e-3, 6)


# -- hostile folds, labels and weights ---------------------------------------------------------


def test_class_with_fewer_samples_than_folds(small):
    X, y = small
    y3 = np.where(np.arange(60) < 3, 3, y)  # class 3: three samples
    with pytest.raises(ValueError, match=r"class 3 has 3 samples, fewer than nfolds=5; lower nfolds to at "
                                         r"most 3"):
        _cv(X, y3, nfolds=5, lambda_=LAMS)


def test_class_with_one_sample_cannot_be_cross_validated(small):
    X, y = small
    y1 = np.where(np.arange(60) == 0, 9, y)
    # "lower nfolds to at most 1" would be no advice at all: nfolds >= 2
    with pytest.raises(ValueError, match=r"class 9 has 1 samples.*drop that class: cross-validation needs at "
                                         r"least 2 samples"):
        _cv(X, y1, nfolds=3, lambda_=LAMS)


def test_foldid_that_hides_a_class_from_training(small):
    """Was silent: the fit without fold 1 never saw class 0 and scored it anyway."""
    X, y = small
    with pytest.raises(ValueError, match=r"class 0 has all its \(weighted\) samples in fold 1"):
        _cv(X, y, foldid=np.where(y == 0, 1, 2), lambda_=LAMS)


def test_weights_that_empty_a_fold(small):
    """Was a 'zero-size array to reduction operation' from inside NumPy."""
    X, y = small
    foldid = np.arange(60) % 3 + 1
    w = (foldid != 1).astype(float)
    with pytest.raises(ValueError, match="fold 1 holds out no sample of positive weight"):
        _cv(X, y, foldid=foldid, weights=w, lambda_=LAMS)


@pytest.mark.parametrize(
    ("kw", "match"),
    [(dict(nfolds=2.5), "nfolds=2.5 is invalid"),
     (dict(nfolds=1), "nfolds=1 is invalid"),
     (dict(foldid=np.ones(60)), "foldid must hold one integer"),
     (dict(foldid=np.ones(60, int)), "at least two folds"),
     (dict(nrepeats=0), "nrepeats=0 must be a positive integer"),
     (dict(type_measure="auc"), r"type_measure='auc' is not one of"),
     (dict(lambda_=[0.1, np.nan]), "NaN or inf values")],
)
def test_bad_settings(small, kw, match):
    X, y = small
    kw.setdefault("lambda_", LAMS)
    with pytest.raises(ValueError, match=match):
        _cv(X, y, **kw)


def test_string_labels_and_unsorted_lambda_give_the_same_sweep(small):
    X, y = small
    ref = _cv(X, y, nfolds=3, lambda_=LAMS)
    alt = _cv(X, np.array(["c", "d", "q"])[y], nfolds=3, lambda_=LAMS[::-1].copy())
    np.testing.assert_array_equal(alt.lambda_, ref.lambda_)
    np.testing.assert_array_equal(alt.results["deviance"].values, ref.results["deviance"].values)
    np.testing.assert_array_equal(alt.classes, ["c", "d", "q"])


def test_singular_hessian_in_a_sweep_is_a_clear_error(small):
    X, y = small
    with pytest.raises(ValueError, match="Hessian could not be factored"):
        _cv(X * 1e6, y, nfolds=3, lambda_=[1e-12], solver="newton")


# -- damaged checkpoints ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh(mixture):
    return _cv(mixture, nfolds=3, lambda_=LAMS)


def _checkpointed(mixture, ck):
    return _cv(mixture, nfolds=3, lambda_=LAMS, checkpoint=ck)


def _same(a, b):
    for v in ("deviance", "recall", "confusion", "cvm"):
        np.testing.assert_array_equal(a.results[v].values, b.results[v].values)


def _same_to_rounding(a, b):
    """A checkpointed sweep against one without a checkpoint: the latter carries each
    lambda's logits and gradient over to the next, the former (which must resume bit
    for bit) starts from the coefficients, so the two differ in the last bits only."""
    for v in ("deviance", "recall", "confusion", "cvm"):
        np.testing.assert_allclose(a.results[v].values, b.results[v].values, rtol=1e-12, atol=0)


def _truncate(f):
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


def _flip_byte(f):
    raw = bytearray(f.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # inside an array's data: the zip CRC catches it
    f.write_bytes(bytes(raw))


def _tamper(f):
    """A well-formed npz whose arrays changed but whose stored checksum did not (e.g. a
    block copied from another run): only the sha256 can tell."""
    with np.load(f) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["P"] = arrays["P"] * (1 + 1e-12)
    np.savez(f, **arrays)


def _strip_checksum(f):
    """A block as an older classdep wrote it: no checksum."""
    with np.load(f) as z:
        arrays = {k: z[k] for k in z.files if k != "_sha256"}
    np.savez(f, **arrays)


@pytest.mark.parametrize(
    ("damage", "match"),
    [(_truncate, "is unreadable, truncated or corrupted"),
     (_flip_byte, "is unreadable, truncated or corrupted"),
     (_tamper, "fails its sha256 checksum"),
     (_strip_checksum, "carries no checksum")],
    ids=["truncated", "flipped-byte", "tampered", "no-checksum"],
)
def test_damaged_checkpoint_is_refused_then_recomputed(mixture, fresh, tmp_path, damage, match):
    ck = tmp_path / "ck"
    first = _checkpointed(mixture, ck)
    _same_to_rounding(first, fresh)  # checkpointing changes nothing but the last bits
    block = ck / "lambda_0003.npz"
    damage(block)
    # refused, naming the file and the fix; never loaded silently
    with pytest.raises(ValueError, match=rf"checkpoint block .*lambda_0003.npz {match}.*delete that file"):
        _checkpointed(mixture, ck)
    block.unlink()  # the documented fix: the sweep recomputes from lambda 3 on
    again = _checkpointed(mixture, ck)
    _same(again, first)  # bit for bit: a resumed checkpointed sweep repeats itself
    assert len(list(ck.glob("lambda_*.npz"))) == LAMS.size


def test_checkpoint_of_another_sweep_is_refused(mixture, tmp_path):
    ck = tmp_path / "ck"
    _checkpointed(mixture, ck)
    with pytest.raises(ValueError, match="belongs to a different sweep.*new checkpoint path or delete"):
        _cv(mixture, nfolds=3, lambda_=LAMS * 2, checkpoint=ck)


def test_block_copied_from_another_sweep_is_refused(mixture, tmp_path):
    """Two real sweeps on the same grid, other folds: a valid block of one, copied into the
    other's folder, passes a checksum of its arrays alone but is bound to the sweep that
    wrote it."""
    a, b = tmp_path / "a", tmp_path / "b"
    _cv(mixture, nfolds=3, lambda_=LAMS, checkpoint=a, seed=0)
    _cv(mixture, nfolds=3, lambda_=LAMS, checkpoint=b, seed=1)
    with np.load(a / "lambda_0002.npz") as za, np.load(b / "lambda_0002.npz") as zb:
        assert not np.array_equal(za["P"], zb["P"])  # the two sweeps differ at that lambda
    shutil.copyfile(a / "lambda_0002.npz", b / "lambda_0002.npz")
    with pytest.raises(ValueError, match=r"lambda_0002.npz .*another sweep.*delete that file"):
        _cv(mixture, nfolds=3, lambda_=LAMS, checkpoint=b, seed=1)


def test_checkpoint_path_that_is_a_file_is_refused(mixture, tmp_path):
    f = tmp_path / "ck"
    f.write_text("not a folder")
    with pytest.raises(ValueError, match="is an existing file; a checkpoint is a folder"):
        _cv(mixture, nfolds=3, lambda_=LAMS, checkpoint=f)


# -- determinism ----------------------------------------------------------------------------------


def test_same_seed_same_bits(mixture):
    a = _cv(mixture, nfolds=3, lambda_=LAMS, seed=7)
    b = _cv(mixture, nfolds=3, lambda_=LAMS, seed=7)
    np.testing.assert_array_equal(a.foldid, b.foldid)
    _same(a, b)
    np.testing.assert_array_equal(a.oof["loss"].values, b.oof["loss"].values)
    np.testing.assert_array_equal(a.fit.path["coef"].values, b.fit.path["coef"].values)
    c = _cv(mixture, nfolds=3, lambda_=LAMS, seed=8)
    assert not np.array_equal(a.foldid, c.foldid)  # the seed is what fixes the folds
    ba, bb = cd.boot(a, R=50, seed=3), cd.boot(b, R=50, seed=3)
    np.testing.assert_array_equal(ba.t, bb.t)


# -- Dask -------------------------------------------------------------------------------------------

SPEC = dict(kind="dropout", strength=[0.1, 0.2, 0.3, 0.4], method="quadratic")


def test_dask_worker_killed_mid_sweep_completes_identically(mixture):
    """A worker process SIGKILLed while tasks run: the scheduler reschedules its tasks (the
    nanny restarts the worker), and the grid equals the local run bit for bit - the same
    bits as client=None, so where a level ran does not matter."""
    distributed = pytest.importorskip("dask.distributed")
    local = _cv(mixture, nfolds=3, lambda_=LAMS, augment=SPEC)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        out: dict = {}

        def sweep():
            try:
                out["grid"] = _cv(mixture, nfolds=3, lambda_=LAMS, augment=SPEC, client=client)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
                out["error"] = exc

        t = threading.Thread(target=sweep)
        t.start()
        killed = None
        deadline = time.time() + 60
        while time.time() < deadline and killed is None and t.is_alive():
            busy = [w for w, tasks in client.processing().items() if tasks and w in pids]
            if busy:
                killed = busy[0]
                os.kill(pids[killed], signal.SIGKILL)
            time.sleep(0.005)
        t.join(timeout=240)
        assert killed is not None, "no task was seen running: nothing was killed"
        assert not t.is_alive()
        if "error" in out:
            raise out["error"]
    remote = out["grid"]
    assert len(remote) == len(local) == 4
    for v in ("deviance", "recall", "cvm", "confusion"):
        np.testing.assert_array_equal(remote.results[v].values, local.results[v].values)
