"""scikit-learn estimators: classdep's fits inside ``Pipeline``, ``GridSearchCV``, ``cross_val_predict``.

- :class:`GlmnetClassifier`: :func:`classdep.glmnet` at one penalty ``s``, shared by all
  classes or one per class;
- :class:`CVGlmnetClassifier`: :func:`classdep.cv_glmnet`, predicting at R's
  ``"lambda_min"`` or ``"lambda_1se"``, or at each class's own optimum
  (``s="classwise"``, :func:`classdep.classwise`), refitted as one model with
  class-specific penalties.

Both follow scikit-learn's estimator API (``fit``, ``predict``, ``predict_proba``,
``predict_log_proba``, ``decision_function``, ``score``, ``classes_``, ``coef_``,
``intercept_``, ``get_params``/``set_params``, ``sample_weight``) and pass its estimator
checks (``sklearn.utils.estimator_checks``); the classdep result behind the predictions
stays reachable (``.fit_``, ``.cv_``), so that ``print``, :func:`classdep.coef`,
:func:`classdep.plot` and the analyses apply to it.

The penalty is classdep's (glmnet's ``alpha = 0``, ``standardize = FALSE``): the mean
weighted loss plus ``sum_k lambda_k / 2 * ||W_k||^2`` (:func:`classdep.glmnet`).
scikit-learn's :class:`~sklearn.linear_model.LogisticRegression` minimizes
``C * sum_i w_i loss_i + ||W||^2 / 2`` instead, so the two fit the same model when
``C = 1 / (s * sum_i w_i)`` with three or more classes.  With two classes scikit-learn
fits one coefficient vector ``beta = W_1 - W_0`` (classdep fits both, centred), and
the match is at ``C = 2 / (s * sum_i w_i)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from .generics import coef
from .glmnet_fit import GlmnetFit, glmnet
from .link import response

__all__ = ["GlmnetClassifier", "CVGlmnetClassifier"]

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn: the estimator's own method
    def _validate_data(estimator, *args, **kwargs):
        return estimator._validate_data(*args, **kwargs)


_FAMILIES = ("multinomial", "ova")


def _check_X(est: BaseEstimator, X, y: Any = "no_validation", reset: bool = True):
    """X (and y, unless ``"no_validation"``) as scikit-learn validates them: float64, finite,
    2-D, dense; ``y=None`` in ``fit`` is scikit-learn's "requires y" error.

    Float64 always: the fits are compared with scikit-learn's to 1e-6, which float32
    features could not resolve.
    """
    return _validate_data(est, X, y, reset=reset, dtype=np.float64)


def _labels(est: BaseEstimator, y) -> tuple[np.ndarray, np.ndarray]:
    """``classes_`` (sorted, scikit-learn's order) and each sample's code into them."""
    check_classification_targets(y)
    classes, codes = np.unique(y, return_inverse=True)
    if classes.size < 2:
        # scikit-learn's checks look for the word "class" in this message
        raise ValueError(f"{type(est).__name__} needs samples of at least 2 classes; y holds 1 class "
                         f"({classes[0]!r}).")
    return classes, codes


def _class_coord(classes: np.ndarray) -> np.ndarray:
    """The class names the classdep result carries: integers stay integers, else strings."""
    if classes.dtype.kind in "iu":
        return classes.astype(np.int64)
    return np.asarray([str(c) for c in classes])


def _per_class(value, classes: np.ndarray, name: str) -> np.ndarray:
    """A per-class vector in ``classes`` order from a mapping {label: value} or a sequence."""
    if isinstance(value, Mapping):
        missing = [c for c in classes.tolist() if c not in value]
        if missing:
            raise ValueError(f"{name} gives no value for the classes {missing}; give one for each of "
                             f"{classes.tolist()}.")
        extra = [k for k in value if k not in set(classes.tolist())]
        if extra:
            raise ValueError(f"{name} names classes {extra} that y does not hold ({classes.tolist()}).")
        return np.asarray([value[c] for c in classes.tolist()], dtype=np.float64)
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (classes.size,):
        raise ValueError(f"{name} must give one value per class ({classes.size}, in the order of "
                         f"classes_ {classes.tolist()}), or be a dict {{class: value}}; got shape "
                         f"{arr.shape}.")
    return arr


def _penalty(value, classes: np.ndarray, name: str):
    """A scalar penalty, or a DataArray over ``class``: :func:`glmnet`'s class-specific fit."""
    if np.ndim(value) == 0 and not isinstance(value, Mapping):
        return [float(value)]
    vals = _per_class(value, classes, name)
    return xr.DataArray(vals, dims="class", coords={"class": _class_coord(classes)})


class _GlmnetBase(ClassifierMixin, BaseEstimator):
    """What both estimators share: the prediction from ``coef`` at the chosen penalty."""

    def _glmnet_args(self) -> dict[str, Any]:
        if self.family not in _FAMILIES:
            raise ValueError(f"family={self.family!r}: a classifier's family is one of {_FAMILIES}.")
        return dict(family=self.family, loss=self.loss, tau=self.tau, gamma=self.gamma,
                    intercept=self.intercept, standardize=self.standardize, thresh=self.thresh,
                    maxit=self.maxit, solver=self.solver, device=self.device, dtype=self.dtype,
                    augment=self.augment)

    def _class_weight(self, classes: np.ndarray):
        cw = self.class_weight
        if cw is None or isinstance(cw, str):
            return cw
        return _per_class(cw, classes, "class_weight")

    def _inputs(self, X, y, sample_weight):
        X, y = _check_X(self, X, y, reset=True)
        self.classes_, codes = _labels(self, y)
        w = None if sample_weight is None else _check_sample_weight(sample_weight, X, dtype=np.float64)
        # a DataFrame keeps the feature names in the classdep result (its coef and plots)
        x = X if not hasattr(self, "feature_names_in_") else pd.DataFrame(
            X, columns=[str(c) for c in self.feature_names_in_])
        return x, _class_coord(self.classes_)[codes], w

    def _set_coef(self, fit: GlmnetFit, s) -> None:
        """Store the logits' weights at ``s`` and scikit-learn's ``coef_`` and ``intercept_``."""
        C = coef(fit, s=s)
        if "lambda" in C.dims:
            C = C.isel({"lambda": 0})
        C = C.transpose("class", "feature").values
        self._W, self._b = np.ascontiguousarray(C[:, 1:]), C[:, 0].copy()
        if self.classes_.size == 2:
            # scikit-learn's binary layout: one vector, positive towards classes_[1]
            self.coef_ = (self._W[1] - self._W[0])[None, :]
            self.intercept_ = np.array([self._b[1] - self._b[0]])
        else:
            self.coef_, self.intercept_ = self._W.copy(), self._b.copy()

    def _logits(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = _check_X(self, X, reset=False)
        return X @ self._W.T + self._b

    def decision_function(self, X) -> np.ndarray:
        """The linear predictor ``X @ coef_.T + intercept_``: shape (n,) with two classes
        (positive favours ``classes_[1]``), else (n, n_classes).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray
        """
        Z = self._logits(X)
        return Z[:, 1] - Z[:, 0] if self.classes_.size == 2 else Z

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        The softmax of the logits (``family="multinomial"``); for ``family="ova"`` the K
        logistic probabilities normalized to sum to one, as scikit-learn's one-vs-rest
        classifiers do.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_classes)
        """
        P = response(self._logits(X), self.family)
        if self.family == "ova":
            P = P / P.sum(axis=1, keepdims=True)
        return P

    def predict_log_proba(self, X) -> np.ndarray:
        """Log of :meth:`predict_proba`, computed from the logits (no ``log(0)`` underflow).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_classes)
        """
        if self.family == "multinomial":
            Z = self._logits(X)
            return Z - logsumexp(Z, axis=1, keepdims=True)
        return np.log(self.predict_proba(X))

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy: the (weighted) share of samples whose predicted class is ``y``.

        scikit-learn's ``score`` of a classifier, the measure ``GridSearchCV`` maximizes
        unless given another ``scoring``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        return super().score(X, y, sample_weight=sample_weight)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each sample, as a label of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
        """
        Z = self._logits(X)  # first: it raises NotFittedError before classes_ is looked up
        return self.classes_[np.argmax(Z, axis=1)]


class GlmnetClassifier(_GlmnetBase):
    """:func:`classdep.glmnet` at one penalty, as a scikit-learn classifier.

    Parameters
    ----------
    s : float, sequence of floats or dict, default 0.01
        The penalty lambda (R's ``s``).  A number is shared by all classes; a sequence
        (one per class, in the order of ``classes_``) or a dict ``{class: lambda}``
        penalizes each class by its own lambda (one model, class-specific penalties).
        ``C = 1 / (s * sum(sample_weight))`` is scikit-learn's
        :class:`~sklearn.linear_model.LogisticRegression` at the same penalty with three
        or more classes, ``C = 2 / (s * sum(sample_weight))`` with two.
    penalty_factor : sequence or dict, optional
        Class ``k`` is penalized by ``s * penalty_factor[k]`` (:func:`classdep.glmnet`).
    family : {"multinomial", "ova"}
        Softmax cross-entropy, or one binomial problem per class.
    loss, tau, gamma : see :func:`classdep.glmnet`
        Loss parameterization for label imbalance.
    class_weight : "balanced", dict {class: weight} or sequence, optional
        Sample ``i`` weighted by the weight of its class (the loss stays a weighted mean).
    intercept, standardize, maxit, solver, augment : see :func:`classdep.glmnet`
        R's ``intercept`` is scikit-learn's ``fit_intercept``.
    device, dtype : see :func:`classdep.glmnet`
        ``"cpu"`` by default (glmnet's is ``"auto"``): an estimator gives the same float64
        answer on every machine unless asked otherwise; on a GPU (``"gpu"``, ``"auto"``)
        the default dtype is float32.
    thresh : float, default 1e-9
        The Newton solver's convergence threshold (:func:`classdep.glmnet`), tighter than
        glmnet's 1e-7: scikit-learn's checks compare a weighted fit with one on repeated
        samples to 1e-7 relative in the probabilities, which 1e-7 on the objective's gap
        does not always reach.

    Attributes
    ----------
    fit_ : GlmnetFit
        The classdep fit: ``print(clf.fit_)``, :func:`classdep.coef`, :func:`classdep.summary`.
    classes_ : numpy.ndarray
        The class labels, sorted; the columns of :meth:`predict_proba`.
    coef_ : numpy.ndarray
        (n_classes, n_features), or (1, n_features) with two classes (``W_1 - W_0``).
    intercept_ : numpy.ndarray
        (n_classes,), or (1,) with two classes.
    lambda_ : float or numpy.ndarray
        The penalty fitted: ``s``, or the per-class lambdas in the order of ``classes_``.
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray
        Only when ``X`` was a DataFrame with string column names.

    See Also
    --------
    CVGlmnetClassifier : the penalty chosen by cross-validation.

    Examples
    --------
    >>> from classdep.sklearn import GlmnetClassifier
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = GlmnetClassifier(s=0.01).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape, round(clf.score(X, y), 2)
    ((2, 3), 0.97)
    >>> GlmnetClassifier(s={0: 0.1, 1: 0.01, 2: 0.01}).fit(X, y).lambda_.tolist()
    [0.1, 0.01, 0.01]
    """

    def __init__(self, s=0.01, *, penalty_factor=None, family: str = "multinomial", loss: str = "ce",
                 tau: float = 1.0, gamma: float = 0.3, class_weight=None, intercept: bool = True,
                 standardize: bool = False, thresh: float = 1e-9, maxit: int = 100, solver: str = "auto",
                 device: str = "cpu", dtype=None, augment=None):
        self.s = s
        self.penalty_factor = penalty_factor
        self.family = family
        self.loss = loss
        self.tau = tau
        self.gamma = gamma
        self.class_weight = class_weight
        self.intercept = intercept
        self.standardize = standardize
        self.thresh = thresh
        self.maxit = maxit
        self.solver = solver
        self.device = device
        self.dtype = dtype
        self.augment = augment

    def fit(self, X, y, sample_weight=None) -> GlmnetClassifier:
        """Fit :func:`classdep.glmnet` at ``s``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights (R's ``weights``).

        Returns
        -------
        self
        """
        x, labels, w = self._inputs(X, y, sample_weight)
        lam = _penalty(self.s, self.classes_, "s")
        pf = None if self.penalty_factor is None else _per_class(self.penalty_factor, self.classes_,
                                                                 "penalty_factor")
        self.fit_ = glmnet(x, labels, lambda_=lam, penalty_factor=pf, weights=w,
                           class_weight=self._class_weight(self.classes_), **self._glmnet_args())
        self.lambda_ = lam[0] if isinstance(lam, list) else lam.values.copy()
        # a class-specific fit is one lambda on its path; the shared one is at s itself
        self._set_coef(self.fit_, None if not isinstance(lam, list) else lam[0])
        return self


_CHOICES = ("lambda_min", "lambda_1se", "classwise")


class CVGlmnetClassifier(_GlmnetBase):
    """:func:`classdep.cv_glmnet` as a scikit-learn classifier: the penalty chosen by cross-validation.

    Parameters
    ----------
    s : {"lambda_1se", "lambda_min", "classwise"} or float, default "lambda_1se"
        Where to predict: R's choices on the full-data path (``"lambda_1se"`` is R's
        default for ``predict.cv.glmnet``), a number on that path, or ``"classwise"``:
        each class's own optimum (:func:`classdep.classwise` with ``measure``), refitted
        on all the data as one model with class-specific penalties.
    nfolds : int, default 10
        Stratified folds; every class needs at least ``nfolds`` samples.
    lambda_path : sequence of floats, optional
        The lambda grid (R's ``lambda``; ``lambda_`` in :func:`classdep.cv_glmnet`).
        Default: ``nlambda`` values down to ``lambda_min_ratio`` times ``lambda_max``.
    nlambda, lambda_min_ratio, type_measure, seed : see :func:`classdep.cv_glmnet`
    measure : str, default "deviance"
        The per-class curve of ``s="classwise"`` (:func:`classdep.classwise`).
    penalty_factor, family, loss, tau, gamma, class_weight
        As :class:`GlmnetClassifier`.
    intercept, standardize, thresh, maxit, solver, device, dtype, augment
        As :class:`GlmnetClassifier`.
    progress : bool, default False
        cv_glmnet's progress bar.

    Attributes
    ----------
    cv_ : CVGlmnet
        The cross-validation: ``print(clf.cv_)``, ``clf.cv_.lambda_min``,
        ``classdep.plot(clf.cv_)``, ``classdep.classwise(clf.cv_)``.
    fit_ : GlmnetFit
        The fit the predictions come from: the full-data path (``cv_.fit``), or the
        class-specific refit when ``s="classwise"``.
    classwise_ : Classwise
        Only with ``s="classwise"``: the per-class optima.
    lambda_ : float or numpy.ndarray
        The penalty predicted with: a number, or (``s="classwise"``) one per class in
        the order of ``classes_``.
    classes_, coef_, intercept_, n_features_in_, feature_names_in_
        As :class:`GlmnetClassifier`.

    Examples
    --------
    >>> from classdep.sklearn import CVGlmnetClassifier
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = CVGlmnetClassifier(s="lambda_min", nfolds=5, nlambda=20).fit(X, y)
    >>> bool(clf.lambda_ == clf.cv_.lambda_min), clf.predict(X[:3]).tolist()
    (True, [0, 0, 0])
    """

    def __init__(self, s="lambda_1se", *, nfolds: int = 10, lambda_path=None, nlambda: int = 100,
                 lambda_min_ratio=None, type_measure: str = "deviance", measure: str = "deviance",
                 seed: int = 0, penalty_factor=None, family: str = "multinomial", loss: str = "ce",
                 tau: float = 1.0, gamma: float = 0.3, class_weight=None, intercept: bool = True,
                 standardize: bool = False, thresh: float = 1e-9, maxit: int = 100, solver: str = "auto",
                 device: str = "cpu", dtype=None, augment=None, progress: bool = False):
        self.s = s
        self.nfolds = nfolds
        self.lambda_path = lambda_path
        self.nlambda = nlambda
        self.lambda_min_ratio = lambda_min_ratio
        self.type_measure = type_measure
        self.measure = measure
        self.seed = seed
        self.penalty_factor = penalty_factor
        self.family = family
        self.loss = loss
        self.tau = tau
        self.gamma = gamma
        self.class_weight = class_weight
        self.intercept = intercept
        self.standardize = standardize
        self.thresh = thresh
        self.maxit = maxit
        self.solver = solver
        self.device = device
        self.dtype = dtype
        self.augment = augment
        self.progress = progress

    def fit(self, X, y, sample_weight=None) -> CVGlmnetClassifier:
        """Cross-validate the path with :func:`classdep.cv_glmnet` and keep the model at ``s``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        from .analysis import classwise
        from .sweep import cv_glmnet
        from .sweep.cvresult import cv_lambda

        s = self.s
        if isinstance(s, str) and s.replace(".", "_") not in _CHOICES:
            raise ValueError(f"s={s!r} is not one of {', '.join(map(repr, _CHOICES))} or a number.")
        x, labels, w = self._inputs(X, y, sample_weight)
        pf = None if self.penalty_factor is None else _per_class(self.penalty_factor, self.classes_,
                                                                 "penalty_factor")
        args = dict(self._glmnet_args(), class_weight=self._class_weight(self.classes_))
        if pf is not None:
            args["penalty_factor"] = pf
        self.cv_ = cv_glmnet(x, labels, nfolds=self.nfolds, lambda_=self.lambda_path, nlambda=self.nlambda,
                             lambda_min_ratio=self.lambda_min_ratio, type_measure=self.type_measure,
                             weights=w, seed=self.seed, progress=self.progress, **args)
        if s == "classwise":
            # the classes' optima are read off the same folds; no null or cross-fit is needed to choose
            self.classwise_ = classwise(self.cv_, measure=self.measure, debias=None, null=0)
            lam = self.classwise_.lambda_opt
            lam = lam.assign_coords({"class": self.cv_.fit.path["class"].values})
            self.fit_ = glmnet(x, labels, lambda_=lam, weights=w, **args)
            self.lambda_ = lam.values.astype(np.float64)
            self._set_coef(self.fit_, None)
        else:
            self.fit_ = self.cv_.fit
            self.lambda_ = float(cv_lambda(self.cv_, s))
            self._set_coef(self.fit_, self.lambda_)
        return self
