"""
Which classes does augmentation help? Backbones trained with and without it, across seeds
=========================================================================================

One trained network is one draw: its per-class accuracies move with the seed of its
initialization and data order. Whether a *class* reacts to data augmentation is a question
about populations of networks (Hooker et al. 2019, "What do compressed deep neural
networks forget?"): train several networks with and without augmentation, measure every
class on each, and test each class across the networks, with the false-discovery rate
controlled over the classes (Benjamini & Hochberg 1995).

This example trains the small Fashion-MNIST MLP of
:func:`classdep.datasets.fashion_mnist_features` three times without augmentation and
three times with random translations of up to two pixels (``augment=("translate", 2)``,
fresh draws every epoch), refits the last layer of each on its training features, scores
every class on the held-out images, and hands the per-class values to
:func:`classdep.class_effects`. The networks are small and briefly trained so that the
example runs in about a minute; each is cached on disk.
"""

# %%
# Six backbones, one last layer each
# ----------------------------------
# The same training images, the same lambda grid and the same held-out images for all.
# For each network the per-class measure is the class's held-out recall of the refitted
# last layer at its shared optimum (the lambda that maximizes held-out accuracy).

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

import classdep as cd

seeds = [0, 1, 2]
lam = np.geomspace(1.0, 1e-5, 12)
recall = {}
for setting, augment in (("plain", None), ("translate", ("translate", 2))):
    rows = []
    for seed in seeds:
        ds = cd.datasets.fashion_mnist_features(n_train=2000, n_test=2000, epochs=3, seed=seed,
                                                augment=augment, progress=False)
        tr, te = cd.datasets.select_split(ds, "train"), cd.datasets.select_split(ds, "test")
        ev = cd.assess(cd.glmnet(tr, lambda_=lam), te.X.values, te["class"].values[te.y.values])
        rows.append(cd.classwise(ev, measure="recall", null=0, debias=None).table["at_global"])
        print(f"{setting:>9}, seed {seed}: network test accuracy {ds.attrs['mlp_test_accuracy']:.3f}")
    recall[setting] = xr.concat(rows, dim="seed")

# %%
# Which classes gain, which lose
# ------------------------------
# Welch's two-sample t-test per class (the networks are independent), the effect being
# the mean recall with augmentation minus without. ``center=True`` tests each class's
# change beyond the average class's instead: what *this* class gains or loses that the
# others do not.

eff = cd.class_effects(recall["plain"], recall["translate"])
print(eff)
print(cd.class_effects(recall["plain"], recall["translate"], center=True))

fig = cd.plot(eff)
plt.show()

# %%
# Three networks per setting give a test with little power: an interval that covers 0
# says that three seeds cannot tell, not that the class does not react; its width says
# how many more networks the class's effect would need.
