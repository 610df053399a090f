"""The link from features to logits to the response of each family, written once.

``predict`` computes logits with :func:`linear_predictor`; ``predict(type="response")``
and the cross-validated sweep's scoring both call :func:`response`.  (The solver's
objective computes its probabilities fused with the loss, in the array namespace of the
device, and does not go through here.)
"""

from __future__ import annotations

import numpy as np

from .solvers.chunked import is_out_of_core, read_rows

__all__ = ["linear_predictor", "response", "class_scores", "squared_error", "FAMILIES"]

FAMILIES = ("multinomial", "ova", "gaussian")


def linear_predictor(X, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Logits ``X W + b`` for (L, K, d) ``W`` and (L, K) ``b``: (L, n, K).

    An out-of-core ``X`` (memmap, zarr, dask) is read in row chunks, never whole.

    Examples
    --------
    >>> linear_predictor(np.eye(2), np.ones((1, 3, 2)), np.zeros((1, 3))).shape
    (1, 2, 3)
    """
    if not is_out_of_core(X):
        return np.einsum("nd,lkd->lnk", X, W) + b[:, None, :]
    n = X.shape[0]
    Z = np.empty((W.shape[0], n, W.shape[1]))
    for a in range(0, n, 65536):
        xb = read_rows(X, a, min(a + 65536, n))
        Z[:, a:a + xb.shape[0], :] = np.einsum("nd,lkd->lnk", xb, W) + b[:, None, :]
    return Z


def response(logits: np.ndarray, family: str) -> np.ndarray:
    """The response of ``logits`` (..., K) under ``family``'s link.

    * ``"multinomial"``: softmax probabilities over the last axis (shifted by the row
      maximum, so that nothing overflows);
    * ``"ova"``: each class's logistic probability, ``1 / (1 + exp(-z))`` written as
      ``(1 + tanh(z / 2)) / 2`` (no overflow); the K need not sum to one;
    * ``"gaussian"``: the identity (least squares' fitted values).

    Examples
    --------
    >>> z = np.array([[0.0, np.log(3.0)]])
    >>> response(z, "multinomial").round(3).tolist(), response(z, "ova").round(3).tolist()
    ([[0.25, 0.75]], [[0.5, 0.75]])
    >>> response(z, "gaussian") is z
    True
    """
    if family == "multinomial":
        Z = logits - logits.max(axis=-1, keepdims=True)
        P = np.exp(Z)
        return P / P.sum(axis=-1, keepdims=True)
    if family == "ova":
        return 0.5 * (1.0 + np.tanh(0.5 * logits))
    if family == "gaussian":
        return logits
    raise ValueError(f"family={family!r} is not one of {list(FAMILIES)}.")


def class_scores(resp: np.ndarray, family: str) -> np.ndarray:
    """Scores that sum to one over the classes, from a :func:`response`, for class-wise metrics.

    The multinomial response as it is; the one-vs-all probabilities normalized over the
    classes.  A Gaussian fit's fitted values are not probabilities: its class-wise
    metrics score them through the logistic link, normalized likewise (the predicted
    class, the argmax, is that of the fitted values), while its cross-validated measure
    is the squared error of the fitted values themselves (:func:`squared_error`).

    Examples
    --------
    >>> class_scores(np.array([[0.5, 0.25]]), "ova").round(3).tolist()
    [[0.667, 0.333]]
    """
    if family == "multinomial":
        return resp
    P = response(resp, "ova") if family == "gaussian" else resp
    return P / P.sum(axis=-1, keepdims=True)


def squared_error(fitted: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per-sample squared error ``sum_k (y_ik - fitted_ik)^2`` against the one-hot labels.

    ``fitted`` is (..., n, K); the result (..., n).  This is the Gaussian deviance of a
    sample (glmnet's multi-response ``"mse"`` sums over the responses likewise).

    Examples
    --------
    >>> squared_error(np.array([[0.5, 0.5]]), np.array([0])).tolist()
    [0.5]
    """
    R = np.array(fitted, dtype=np.float64, copy=True)
    n = codes.size
    R[..., np.arange(n), codes] -= 1.0
    return (R * R).sum(axis=-1)
