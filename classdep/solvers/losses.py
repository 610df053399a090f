"""Loss parameterizations for label imbalance, as logit adjustments.

All are convex in the coefficients of a linear model.  With class counts ``n_k``,
priors ``pi_k = n_k / n`` and ``Delta_k = (n_k / n_max) ** gamma`` (so ``Delta <= 1``
and minority classes get the smaller factor, the convention of Kini et al. 2021's
code), the adjusted logit of class ``k`` for sample ``i`` is

==========  =========================================  ==============================
``loss``    adjusted logit ``z'_ik``                   source
==========  =========================================  ==============================
``"ce"``    ``z_ik``                                   plain cross-entropy
``"la"``    ``z_ik + tau * log(pi_k)``                 Menon et al. 2021
``"cdt"``   ``Delta_k * z_ik``                         Ye et al. 2020
``"vs"``    ``Delta_k * z_ik + tau * log(pi_k)``       Kini et al. 2021
``"ldt"``   ``Delta_{y_i} * z_ik``                     Behnia et al. 2023
==========  =========================================  ==============================

The adjustments enter training only; ``predict`` returns the model's own logits
``z = x W + b``, as the papers evaluate.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_choice

__all__ = ["LOSSES", "logit_adjustments"]

LOSSES = ("ce", "la", "cdt", "vs", "ldt")


def logit_adjustments(loss: str, counts: np.ndarray, tau: float = 1.0, gamma: float = 0.3):
    """``(delta, iota, ldt)`` arrays of shape (K,) or None for one loss parameterization.

    ``ldt`` is the per-class factor that scales every logit of a sample of that class.

    Examples
    --------
    >>> d, i, s = logit_adjustments("la", np.array([90, 10]), tau=1.0)
    >>> np.round(i, 3).tolist(), d, s
    ([-0.105, -2.303], None, None)
    """
    check_choice(loss, LOSSES, "loss")
    counts = np.asarray(counts, dtype=np.float64)
    if (counts <= 0).any() and loss != "ce":
        raise ValueError(
            f"loss={loss!r} needs every class present in the training data; class counts are "
            f"{counts.astype(int).tolist()}. Drop empty classes or use loss='ce'."
        )
    if not np.isfinite(tau) or not np.isfinite(gamma):
        raise ValueError("tau and gamma must be finite numbers.")
    pi = counts / counts.sum()
    delta_k = (counts / counts.max()) ** gamma if loss in ("cdt", "vs", "ldt") else None
    iota = tau * np.log(pi) if loss in ("la", "vs") else None
    if loss == "ldt":
        return None, None, delta_k
    if loss in ("cdt", "vs"):
        return delta_k, iota, None
    return None, iota, None
