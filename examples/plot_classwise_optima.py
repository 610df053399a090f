"""
Class-wise optima, their regret, and what an oracle model realizes
===================================================================

A Gaussian mixture whose classes differ in noise: noisier classes want a stronger
penalty. ``cv_glmnet`` solves all folds in one batch and scores every class at every
penalty; ``classwise`` reads off each class's optimum and its regret (with a
cross-fitted correction and a noise-only null); ``oracle_gain`` fits one model with the
class-specific penalties and checks on a large independent test sample how much of the
promised gain a single coupled model realizes.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

import classdep as cd
from classdep.datasets import make_mixture, select_split

ds = make_mixture(n_classes=4, n_features=30, n_samples=600, imbalance="step", ratio=5,
                  noise=[0.6, 1.0, 1.6, 2.4], separation=2.5, n_test=40000, seed=1)
train, test = select_split(ds, "train"), select_split(ds, "test")
cv = cd.cv_glmnet(train, nfolds=5, lambda_=np.geomspace(3, 1e-4, 25), progress=False)
print(cv)
cd.plot(cv)

# %%
# Class-wise optima, sorted by regret
cw = cd.classwise(cv)
print(cw)
cd.plot(cw)

# %%
# The truth, from 40000 test samples: each class's test deviance along the path
truth = cd.assess(cv.fit, test.X, test["class"].values[test.y.values])
fig, ax = plt.subplots(figsize=(6, 4))
for k, c in enumerate(truth["class"].values):
    d = truth["deviance"].values[:, k]
    ax.plot(cv.lambda_, d / d.min(), label=f"class {c} (test)")
    ax.plot(cw.lambda_opt.values[k], 1.0, "ko")
ax.set(xscale="log", xlabel="lambda", ylabel="test deviance / its minimum", ylim=(0.95, 1.6))
ax.legend(fontsize=7)

# %%
# One model with class-specific penalties (``glmnet(lambda_=cw.lambda_opt)``) against
# the global-lambda model on the test sample: the bound promised, the gain realized.
gain = cd.oracle_gain(cw, train.X, train["class"].values[train.y.values], test.X,
                      test["class"].values[test.y.values])
print(gain[["bound", "gain", "recall_global", "recall_oracle"]].to_dataframe())
print(f"bound {gain.attrs['bound_total']:.4f} vs realized {gain.attrs['gain_total']:.4f} "
      "(deviance per sample)")
