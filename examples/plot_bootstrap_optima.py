"""
Bootstrap intervals for every class's optimal lambda
====================================================

A per-class optimum read off a noisy validation curve is itself noisy. ``boot``
resamples the out-of-fold samples within each class -- the same resample for every
lambda, so that each curve keeps its shape -- and recomputes every class's optimum;
``boot_ci`` turns the replicates into intervals, ``confset`` gives the grid lambdas not
rejected as a class's optimum. The question is whether "class 3 wants a hundred times
more regularization than class 0" is a finding or noise.
"""

# %%
import warnings

import numpy as np

import classdep as cd
from classdep.datasets import make_mixture

ds = make_mixture(n_classes=4, n_features=30, n_samples=600, imbalance="step", ratio=5,
                  noise=[0.6, 1.0, 1.6, 2.4], separation=2.5, seed=1)
cv = cd.cv_glmnet(ds, nfolds=5, lambda_=np.geomspace(10, 1e-5, 31), progress=False)
print(cd.classwise(cv, null=0))

# %%
# The naive bootstrap of the grid argmin
# --------------------------------------
# 2000 paired replicates are one matrix product of resampling counts by the per-sample
# loss curves. The grid argmin is discrete: most replicates land on the original grid
# point, and ``boot_ci`` warns, as R's ``boot.ci`` does, that its percentile and BCa
# intervals are not to be trusted.
b_grid = cd.boot(cv, R=2000, estimator="grid", seed=0)
print(b_grid)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    cd.boot_ci(b_grid, type="bca")
print(caught[0].message)

# %%
# A smoothed optimum
# ------------------
# The continuous minimizer of a local quadratic in log lambda (the argmin and three grid
# points either side) is a smooth functional of the data: its percentile intervals
# behave. Class 0 is nearly separable: its curve keeps falling as lambda shrinks, a share
# of its replicates sit at the smallest lambda of the grid, and ``boot_ci`` says so -- the
# lower end of its interval means "as little penalty as the grid allows". The forest plot
# sorts the classes by their optimum; the dashed line and the grey band are the global
# optimum and its interval.
b = cd.boot(cv, R=2000, estimator="smooth", seed=0)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    ci = cd.boot_ci(b, conf=0.9, type="perc")
for w in caught:
    print(w.message)
print(ci)
fig = cd.plot(ci)

# %%
# The set of grid lambdas not rejected as each class's optimum
# ------------------------------------------------------------
# A studentized max-difference bootstrap test per grid point (Lei 2020): conservative,
# and it answers "which lambdas could be best" rather than "where is the best".
cs = cd.confset(cv, alpha=0.1, R=2000, seed=0)
print(cs[["lambda_lower", "lambda_opt", "lambda_upper"]].to_dataframe())

# %%
# What the shared lambda costs each class
# ---------------------------------------
# The regret of the global optimum, class by class and in total, from the same kind of
# replicates. A class whose optimum coincides with the global one has zero regret in many
# replicates (an atom at zero), which ``boot_ci`` would flag; the plug-in regret is also
# biased upward (see ``classwise``'s cross-fitted value).
r = cd.boot(cv, R=2000, statistic="regret", seed=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", cd.analysis.bootstrap.BootWarning)
    ci_r = cd.boot_ci(r, conf=0.9, type="perc")
print(ci_r)
