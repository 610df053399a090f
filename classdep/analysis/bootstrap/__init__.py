"""Bootstrap intervals for every class's optimal lambda and for the regret (R's ``boot``).

A class's optimum read off a noisy validation curve is itself noisy.  ``boot`` resamples
and recomputes it; ``boot_ci`` turns the replicates into intervals; ``confset`` gives
the set of grid lambdas not rejected as a class's optimum.  The curve is a class's
deviance, recall or one-vs-all accuracy (``measure=``, see :mod:`.sources`).

Two resampling schemes:

* ``method="oof"`` resamples the kept out-of-fold samples within each class, the same
  resample for every lambda (paired), so that the correlation of a class's curve across
  lambdas is kept.  A replicate is a vector of resampling counts ``f`` (one per sample);
  class ``c``'s deviance curve under it is ``sum_i f_i 2 w_i loss_i(lambda)`` over the
  samples of class ``c``.  For R replicates this is one matrix product of the (R, n)
  count matrix by the block-diagonal (n, K L) matrix of per-sample deviance curves,
  computed block by block (one (R, n_c) x (n_c, L) product per class), so thousands of
  replicates cost seconds.
* ``method="refit"`` resamples the training data and reruns the cross-validation: the
  training side's variability too, at the price of one sweep per replicate.

The grid argmin is discrete, and the naive bootstrap of an argmin is unreliable (Hall &
Miller 2009): its distribution has atoms, so percentile and BCa intervals are not to be
trusted (``boot_ci`` warns).  Three remedies, whose coverage the documentation's
bootstrap coverage study measured:

* ``estimator="smooth"`` (the default for an optimum along lambda): the continuous
  minimizer of a local quadratic in log lambda fitted over a window of ``window`` decades
  centred on the grid argmin (:data:`.estimators.SMOOTH_WINDOW`, in decades so that it
  does not move with the grid's density); a smooth functional, whose percentile
  intervals the coverage study measured at 20 and 50 lambdas on three designs;
* ``estimator="moon"``: the m-out-of-n bootstrap (Bickel, Goetze & van Zwet 1997),
  ``m = n^0.7`` draws per stratum and deviations in log lambda rescaled by ``sqrt(m / n)`` (0.89-0.93);
* :func:`confset`: the grid lambdas not rejected as the optimum (conservative, 0.97-0.99;
  it answers "which lambdas could be best", not "where is the best").

Over a :class:`~classdep.CVGrid` (augmentation levels, feature sets) ``boot``,
``boot_ci``, ``confint`` and ``confset`` work per level (``over="lambda"``: each level's
sweep with the same resamples, stacked along the grid's dim) or over the levels
(``over="augment"``: each class's best level at one lambda, the samples resampled paired
across the levels, which share them).

Modules: :mod:`.resampling` (counts and replicate curves), :mod:`.sources` (the
per-sample curves along lambda or a grid's levels), :mod:`.estimators` (grid, smooth and
the statistics), :mod:`.replicates` (``boot`` and :class:`Boot`), :mod:`.refit` (the
refit replicate and its Dask path), :mod:`.intervals` (``boot_ci``, :class:`BootCI`,
BCa through scipy), :mod:`.confidence_sets` (``confset``) and :mod:`.confint_methods`.
"""

from . import confint_methods  # noqa: F401  (registers the confint methods)
from .confidence_sets import confset
from .estimators import ESTIMATORS, SMOOTH_WINDOW, STATISTICS
from .intervals import TYPES, BootCI, boot_ci
from .replicates import METHODS, MOON_EXPONENT, Boot, BootWarning, boot
from .resampling import STRATA, replicate_curves, resample_counts
from .sources import MEASURES

__all__ = ["ESTIMATORS", "MEASURES", "METHODS", "MOON_EXPONENT", "SMOOTH_WINDOW", "STATISTICS", "STRATA",
           "TYPES", "Boot", "BootCI", "BootWarning", "boot", "boot_ci", "confset", "replicate_curves",
           "resample_counts"]
