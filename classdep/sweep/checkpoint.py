"""The checkpoint store of a sweep: one verified file per finished lambda, resumed on restart."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from ..solvers.chunked import is_out_of_core, read_rows

__all__ = ["Checkpoint", "fingerprint", "payload_digest"]


def payload_digest(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over the names, dtypes, shapes and bytes of ``arrays`` (sorted by name).

    Examples
    --------
    >>> a = payload_digest({"x": np.zeros(2)})
    >>> a == payload_digest({"x": np.zeros(2)}), a == payload_digest({"x": np.ones(2)})
    (True, False)
    """
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(f"{k}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


class Checkpoint:
    """Per-lambda blocks of a sweep written to a folder; reloaded on restart.

    Each finished lambda writes one ``.npz`` (atomically: temporary file, then rename)
    holding its scores and the batch's coefficients, which seed the next warm start,
    and a sha256 (``_sha256``) over the sweep's fingerprint, the block's lambda index and
    its arrays; a block whose arrays do not match it, that another sweep wrote (a block
    copied between checkpoint folders passes a checksum of its arrays alone), or that
    cannot be read, is refused, never loaded.

    Examples
    --------
    >>> import tempfile
    >>> ck = Checkpoint(tempfile.mkdtemp(), "demo")
    >>> ck.save(0, P=np.eye(2)); ck.done(), ck.load(0)["P"].shape
    (1, (2, 2))
    """

    CHECKSUM = "_sha256"

    def __init__(self, path, fingerprint: str):
        self.fingerprint = fingerprint
        self.dir = Path(path)
        if self.dir.exists() and not self.dir.is_dir():
            raise ValueError(f"checkpoint={str(path)!r} is an existing file; a checkpoint is a folder: pass "
                             "a new path (it is created) or the folder of the sweep to resume.")
        self.dir.mkdir(parents=True, exist_ok=True)
        stamp = self.dir / "fingerprint.txt"
        if stamp.exists() and stamp.read_text() != fingerprint:
            raise ValueError(
                f"checkpoint {self.dir} belongs to a different sweep (other data or settings); "
                "pass a new checkpoint path or delete that folder."
            )
        tmp = self.dir / f".fingerprint.{os.getpid()}.tmp"
        tmp.write_text(fingerprint)
        os.replace(tmp, stamp)  # atomic: a kill never leaves a half-written stamp

    def fold_batch(self, G: int) -> int:
        """The fold-group size this sweep was started with (``G`` when it is new)."""
        path = self.dir / "fold_batch.txt"
        if path.exists():
            return int(path.read_text())
        tmp = self.dir / f".fold_batch.{os.getpid()}.tmp"
        tmp.write_text(str(int(G)))
        os.replace(tmp, path)
        return int(G)

    def sub(self, name: str) -> Checkpoint:
        """A checkpoint of the same sweep in a subfolder (one group of folds)."""
        return Checkpoint(self.dir / name, self.fingerprint)

    def file(self, j: int) -> Path:
        return self.dir / f"lambda_{j:04d}.npz"

    def done(self) -> int:
        j = 0
        while self.file(j).exists():
            j += 1
        return j

    def save(self, j: int, **arrays) -> None:
        tmp = self.dir / f".lambda_{j:04d}.{os.getpid()}.tmp.npz"
        arrays = {k: np.asarray(v) for k, v in arrays.items()}
        np.savez(tmp, **arrays, **{self.CHECKSUM: np.asarray(self._seal(j, arrays))})
        os.replace(tmp, self.file(j))

    def load(self, j: int) -> dict[str, np.ndarray]:
        fix = ("delete that file (the sweep recomputes from that lambda on) or pass a new "
               "checkpoint folder")
        try:
            with np.load(self.file(j), allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except Exception as exc:  # noqa: BLE001 - truncated zip, bad CRC, not an npz at all
            raise ValueError(
                f"checkpoint block {self.file(j)} is unreadable, truncated or corrupted ({exc}); {fix}."
            ) from exc
        stored = arrays.pop(self.CHECKSUM, None)
        if stored is None:
            raise ValueError(
                f"checkpoint block {self.file(j)} carries no checksum (written by another classdep "
                f"version or another program), so it cannot be verified; {fix}."
            )
        if str(stored) != self._seal(j, arrays):
            if str(stored) == payload_digest(arrays):
                raise ValueError(
                    f"checkpoint block {self.file(j)} was written by another classdep version or copied "
                    f"from another sweep's checkpoint (its arrays are intact but not bound to this sweep); "
                    f"{fix}."
                )
            raise ValueError(
                f"checkpoint block {self.file(j)} fails its sha256 checksum (its contents changed after "
                f"it was written, or it belongs to another sweep or lambda); {fix}."
            )
        return arrays

    def _seal(self, j: int, arrays: dict[str, np.ndarray]) -> str:
        """The block's checksum: its arrays bound to this sweep and to its lambda index."""
        return hashlib.sha256(f"{self.fingerprint}|{int(j)}|{payload_digest(arrays)}".encode()).hexdigest()


def fingerprint(X, codes, folds, lam, settings: dict) -> str:
    """sha256 of the data, folds, lambdas and settings: which sweep a checkpoint belongs to.

    Examples
    --------
    >>> a = fingerprint(np.eye(2), np.arange(2), np.arange(2), np.ones(1), {"family": "'ova'"})
    >>> len(a)
    64
    """
    h = hashlib.sha256()
    if is_out_of_core(X):
        # hashed chunk by chunk: the same bytes as the in-memory route, never all at once
        for a in range(0, X.shape[0], 65536):
            h.update(np.ascontiguousarray(read_rows(X, a, min(a + 65536, X.shape[0]), dtype=None)).tobytes())
    else:
        h.update(np.ascontiguousarray(X).tobytes())
    for a in (codes, folds, lam):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(repr(sorted(settings.items())).encode())
    return h.hexdigest()
