"""Settings of a fit: the model specification and the solver control, validated once.

:class:`Model` says *what* is fitted (family, loss and its parameters, class weights,
intercept, standardization, per-class penalty factors, augmentation); :class:`Control`
says *how* it is solved (solver, preconditioner, threshold, iterations, device, dtype,
memory limit, and whether a resumed run must repeat an uninterrupted one bit for bit).
Both are small frozen dataclasses, checked when they are built; the R-like entry points
(:func:`classdep.glmnet`, :func:`classdep.cv_glmnet`) build them from their arguments and
pass them down.  Their fields are the one list of settings: :func:`split_settings` takes
keyword shorthands by those names, :func:`settings_attrs` writes them into a saved fit
and :func:`settings_from_attrs` reads them back.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ..link import FAMILIES
from ..validation import check_choice
from .augment import Augment, check_augment
from .losses import LOSSES
from .memory import parse_bytes
from .sample_space import ROUTES

__all__ = ["FAMILIES", "SOLVERS", "PRECONDITIONERS", "DEVICES", "ROUTES", "Model", "Control", "MODEL_FIELDS",
           "CONTROL_FIELDS", "split_settings", "settings_attrs", "settings_from_attrs"]

SOLVERS = ("auto", "newton", "newton-cg")
PRECONDITIONERS = ("auto", "hessian", "block", "kronecker")
DEVICES = ("auto", "cpu", "gpu")


def _vector(value) -> tuple[float, ...]:
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    return tuple(float(v) for v in arr)


@dataclass(frozen=True)
class Model:
    """What is fitted: family, loss, weights of classes, penalties, augmentation.

    Attributes
    ----------
    family : {"multinomial", "ova", "gaussian"}
    loss : {"ce", "la", "cdt", "vs", "ldt"}
        With ``tau`` (additive) and ``gamma`` (multiplicative) logit adjustments; the
        Gaussian family takes ``"ce"`` only.
    class_weight : "balanced", K non-negative weights, or None
    intercept, standardize : bool
    penalty_factor : K positive numbers, or None (all ones)
        Class ``k``'s penalty is ``lambda * penalty_factor[k]``.
    augment : :class:`~classdep.solvers.augment.Augment`, a dict spec, or None

    Examples
    --------
    >>> Model(family="ova", penalty_factor=[1, 2]).penalty_factor
    (1.0, 2.0)
    >>> Model(family="poisson")
    Traceback (most recent call last):
    ...
    ValueError: family='poisson' is not one of ['multinomial', 'ova', 'gaussian'].
    """

    family: str = "multinomial"
    loss: str = "ce"
    tau: float = 1.0
    gamma: float = 0.3
    class_weight: str | tuple[float, ...] | None = None
    intercept: bool = True
    standardize: bool = False
    penalty_factor: tuple[float, ...] | None = None
    augment: Augment | None = None

    def __post_init__(self) -> None:
        check_choice(self.family, FAMILIES, "family")
        check_choice(self.loss, LOSSES, "loss")
        if self.family == "gaussian" and self.loss != "ce":
            raise ValueError(f"loss={self.loss!r} adjusts logits; family='gaussian' takes loss='ce' only.")
        cw = self.class_weight
        if cw is not None and not isinstance(cw, str):
            object.__setattr__(self, "class_weight", _vector(cw))
        if self.penalty_factor is not None:
            pf = _vector(self.penalty_factor)
            if not np.isfinite(pf).all() or (np.asarray(pf) <= 0).any():
                raise ValueError(
                    "penalty_factor must be positive and finite: an unpenalized class makes the "
                    "ridge problem unbounded on separable data."
                )
            object.__setattr__(self, "penalty_factor", pf)
        object.__setattr__(self, "augment", check_augment(self.augment))
        object.__setattr__(self, "intercept", bool(self.intercept))
        object.__setattr__(self, "standardize", bool(self.standardize))


@dataclass(frozen=True)
class Control:
    """How a fit is solved: solver, preconditioner, stopping rule, device and memory.

    Attributes
    ----------
    solver : {"auto", "newton", "newton-cg"}
    preconditioner : {"auto", "hessian", "block", "kronecker"}
    thresh : float in (0, 1)
        Threshold on the estimated relative objective gap.
    maxit : int
        Newton iterations per lambda at most.
    device : {"auto", "cpu", "gpu"}
    dtype : float64, float32 or None (the device's default)
    memory_limit : int, str or None
        Bytes the fit may use (``"8GB"``), instead of what the machine reports free.
    reproducible : bool
        A resumed run must repeat an uninterrupted one bit for bit (checkpointed sweeps):
        every lambda's solve then depends on its warm start alone (float64 CG, no
        preconditioner or logits carried over from the previous lambda).
    route : {"auto", "feature", "sample"}
        Where the path is solved: on the ``d`` features, or on ``min(n, d)`` reduced
        features spanning the row space of ``x`` (exact for the ridge penalty, see
        :mod:`classdep.solvers.sample_space`).  ``"auto"`` takes the sample space when
        ``d > n`` and the penalty is the same for every feature.

    Examples
    --------
    >>> Control(thresh=1e-10, dtype="float32").dtype
    dtype('float32')
    >>> Control(maxit=0)
    Traceback (most recent call last):
    ...
    ValueError: maxit=0 must be a positive integer.
    """

    solver: str = "auto"
    preconditioner: str = "auto"
    thresh: float = 1e-7
    maxit: int = 100
    device: str = "auto"
    dtype: Any = None
    memory_limit: int | str | None = None
    reproducible: bool = False
    route: str = "auto"

    def __post_init__(self) -> None:
        check_choice(self.solver, SOLVERS, "solver")
        check_choice(self.route, ROUTES, "route")
        check_choice(self.preconditioner, PRECONDITIONERS, "preconditioner")
        if not (isinstance(self.thresh, int | float) and 0 < self.thresh < 1):
            raise ValueError(f"thresh={self.thresh!r} must be a number in (0, 1).")
        if isinstance(self.maxit, bool) or int(self.maxit) != self.maxit or self.maxit < 1:
            raise ValueError(f"maxit={self.maxit!r} must be a positive integer.")
        object.__setattr__(self, "maxit", int(self.maxit))
        check_choice(self.device, DEVICES, "device")
        if self.dtype is not None:
            dt = np.dtype(self.dtype)
            if dt not in (np.float32, np.float64):
                raise ValueError(f"dtype={dt} is not supported; use float64 or float32.")
            object.__setattr__(self, "dtype", dt)
        if self.memory_limit is not None:
            parse_bytes(self.memory_limit)
        object.__setattr__(self, "reproducible", bool(self.reproducible))


MODEL_FIELDS = tuple(f.name for f in fields(Model))
CONTROL_FIELDS = tuple(f.name for f in fields(Control))


def split_settings(model: Model | None = None, control: Control | None = None,
                   **shorthand: Any) -> tuple[Model, Control]:
    """``(model, control)`` with the fields named in ``shorthand`` replaced.

    Lower-level functions (:func:`~classdep.solvers.path.fit_path`,
    :func:`~classdep.solvers.prepare.prepare`, ...) take the settings objects, or, for
    quick calls, any of their fields by name; a name that is neither is a TypeError.

    Examples
    --------
    >>> m, c = split_settings(family="ova", thresh=1e-9)
    >>> m.family, c.thresh
    ('ova', 1e-09)
    """
    extra = sorted(set(shorthand) - set(MODEL_FIELDS) - set(CONTROL_FIELDS))
    if extra:
        raise TypeError(f"unexpected keyword argument(s) {extra}: the settings are the fields of "
                        f"Model {list(MODEL_FIELDS)} and Control {list(CONTROL_FIELDS)}.")
    m = {k: v for k, v in shorthand.items() if k in MODEL_FIELDS}
    c = {k: v for k, v in shorthand.items() if k in CONTROL_FIELDS}
    model = Model(**m) if model is None else (dataclasses.replace(model, **m) if m else model)
    control = Control(**c) if control is None else (dataclasses.replace(control, **c) if c else control)
    return model, control


# Names a saved fit already uses for a display value: the solver used ("newton-cg
# (hessian)"), the augmentation's description and the route taken ("sample" or
# "feature").  The setting goes under name_setting.
_DISPLAY = ("solver", "augment", "route")


def _encode(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, tuple):
        return np.asarray(value, dtype=np.float64)
    if isinstance(value, Augment):
        return json.dumps(dataclasses.asdict(value))
    if isinstance(value, np.dtype):
        return str(value)
    return value


def settings_attrs(model: Model, control: Control) -> dict[str, Any]:
    """The settings as netCDF-safe attributes (None omitted), keyed by field name.

    ``dtype`` None is written ``"default"``.  ``solver``, ``augment`` and ``route`` are
    written as ``solver_setting``, ``augment_setting`` and ``route_setting``: a fit's
    ``solver``, ``augment`` and ``route`` attributes show the solver used, the
    augmentation's description and the route taken.

    Examples
    --------
    >>> a = settings_attrs(Model(), Control())
    >>> a["family"], a["intercept"], a["dtype"], a["solver_setting"]
    ('multinomial', 1, 'default', 'auto')
    """
    out: dict[str, Any] = {}
    for obj in (model, control):
        for f in fields(obj):
            v = getattr(obj, f.name)
            if f.name == "dtype" and v is None:
                v = "default"
            if v is None:
                continue
            out[f"{f.name}_setting" if f.name in _DISPLAY else f.name] = _encode(v)
    return out


def _decode(name: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        return bool(int(value))
    if name == "augment":
        return Augment(**json.loads(value))
    if name == "dtype":
        return None if value == "default" else np.dtype(value)
    if isinstance(value, np.ndarray | list):
        return tuple(float(v) for v in np.asarray(value).reshape(-1))
    if isinstance(value, np.generic):
        return value.item()
    return value


def settings_from_attrs(attrs: dict[str, Any]) -> tuple[Model, Control]:
    """The settings a fit was made with, from its attributes (defaults where absent).

    Fits saved before the settings were stored in full lack some of them; those take the
    defaults, and an augmentation without its stored spec is an error (it cannot be
    repeated from its description alone).

    Examples
    --------
    >>> m, c = settings_from_attrs(settings_attrs(Model(loss="la"), Control(maxit=7)))
    >>> m.loss, c.maxit
    ('la', 7)
    """
    made = []
    for cls in (Model, Control):
        kw = {}
        for f in fields(cls):
            key = f"{f.name}_setting" if f.name in _DISPLAY else f.name
            if key in attrs:
                kw[f.name] = _decode(f.name, attrs[key], f.default)
        made.append(cls(**kw))
    if attrs.get("augment", "none") != "none" and made[0].augment is None:
        raise ValueError("this fit was saved without its augmentation spec, so it cannot be refitted; "
                         "fit again with glmnet(..., augment=...).")
    return made[0], made[1]
