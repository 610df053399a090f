"""
A regularization path and each class's own optimum
===================================================

Fit the ridge-penalized multinomial path on scikit-learn's digits, look at it the way
R's ``print.glmnet`` and ``plot.glmnet`` show it, then score every class on held-out
data at every penalty: classes disagree about the best penalty, and the single shared
penalty costs some of them more than others.
"""

# %%
# Fit the path
# ------------
# ``glmnet`` warm-starts each penalty from the previous solution; ``print`` shows R's
# ``Df  %Dev  Lambda`` table.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

import classdep as cd

ds = cd.datasets.digits()
tr, te = train_test_split(np.arange(ds.sizes["sample"]), test_size=0.3,
                          stratify=ds.y.values, random_state=0)
fit = cd.glmnet(ds.X.values[tr], ds.y.values[tr], nlambda=25, lambda_min_ratio=1e-5)
print(fit)

# %%
# Coefficients come back as xarray, ``"(Intercept)"`` first, as R's ``coef`` lays them
# out; ``s`` between grid points interpolates like glmnet.
print(cd.coef(fit, s=1e-2).isel(feature=slice(0, 6)))

# %%
# Coefficient paths, one panel per class
cd.plot(fit, xvar="lambda")

# %%
# Each class's held-out deviance along the path
# ---------------------------------------------
# The per-class deviance ``-2 sum_{i in c} log p(c | x_i)`` sums exactly to the total.
P = cd.predict(fit, ds.X.values[te], type="response").values  # (lambda, sample, class)
y = ds.y.values[te]
p_true = P[:, np.arange(y.size), y]
dev = np.stack([-2 * np.log(p_true[:, y == k]).sum(1) for k in range(10)], axis=1)
j_glob = dev.sum(1).argmin()

fig, ax = plt.subplots(figsize=(6, 4))
for k in range(10):
    ax.plot(fit.lambda_, dev[:, k] - dev[:, k].min(), label=str(k))
ax.axvline(fit.lambda_[j_glob], color="k", ls="--", label="global optimum")
ax.set(xscale="log", xlabel="lambda", ylabel="held-out deviance above its minimum")
ax.legend(ncol=2, fontsize=7)

# %%
# What the shared penalty costs each class (the regret, an upper bound on what
# class-specific penalties could gain on this split):
regret = dev[j_glob] - dev.min(0)
for k in np.argsort(-regret)[:5]:
    print(f"class {k}: best lambda {fit.lambda_[dev[:, k].argmin()]:.3g}, regret {regret[k]:.2f}")
