"""The cost of a data-augmentation sweep through a frozen backbone: copies x strengths x lambdas.

One DA sweep (``classdep.sweep.augment_images.assess_augment``) per configuration, on the
Fashion-MNIST MLP of ``fashion_mnist_features`` (5000 images, 8 epochs; cached), with the head
refitted on ``--images`` training images and scored on 2000 clean test images.  Its four stages
are timed apart, as the sweep runs them: drawing the augmented copies (translation), extracting
their features, fitting the head's path, and scoring it on the held-out features.

Run: ``python benchmarks/bench_augment_images.py`` (add ``--quick`` for a smoke run); it prints a
Markdown table and the machine, for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import classdep as cd
from classdep.datasets import fashion_mnist
from classdep.datasets.fashion_mnist import CLASS_NAMES
from classdep.datasets.image_augment import augment_images
from classdep.sweep.augment_images import extract, fashion_mnist_backbone

try:
    from machine import machine_info
except ImportError:  # run from elsewhere than benchmarks/
    from benchmarks.machine import machine_info


def one_sweep(fm, x, y, Fn, yn, strengths, copies, lam) -> dict:
    """Seconds per stage of one sweep (the stages of assess_augment, timed apart)."""
    t = dict(augment=0.0, extract=0.0, fit=0.0, score=0.0)
    for s in strengths:
        a0 = time.perf_counter()
        a = augment_images(x, "translate", s, copies=copies, seed=0)
        a1 = time.perf_counter()
        F = extract(fm, a.images)
        a2 = time.perf_counter()
        fit = cd.glmnet(F, y[a.source], lambda_=lam, weights=np.full(a.source.size, 1.0 / copies))
        a3 = time.perf_counter()
        cd.assess(fit, Fn, yn)
        a4 = time.perf_counter()
        t["augment"] += a1 - a0
        t["extract"] += a2 - a1
        t["fit"] += a3 - a2
        t["score"] += a4 - a3
    t["total"] = sum(t.values())
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1500)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    fm = fashion_mnist_backbone(n_train=5000, n_test=2000, epochs=8)
    names = np.asarray(CLASS_NAMES)
    train, test = fashion_mnist("train"), fashion_mnist("test")
    rows = fm.attrs["train_index"][:args.images]
    x = train.X.values[rows].reshape(-1, 28, 28)
    y = names[train.y.values[rows]]
    xn = test.X.values[fm.attrs["test_index"]].reshape(-1, 28, 28)
    yn = names[test.y.values[fm.attrs["test_index"]]]
    Fn = extract(fm, xn)
    strengths = [0, 1, 2, 3]
    configs = [(1, 10), (2, 10)] if args.quick else [(1, 10), (2, 10), (4, 10), (8, 10), (4, 5), (4, 20)]
    print(machine_info())
    print(f"\n{args.images} training images, {yn.size} held-out, {len(strengths)} strengths "
          "(translate 0-3 px)\n")
    print("| copies | lambdas | rows per fit | augment s | extract s | fit s | score s | total s "
          "| s per (strength, lambda) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for copies, L in configs:
        lam = np.geomspace(0.03, 1e-5, L)
        t = one_sweep(fm, x, y, Fn, yn, strengths, copies, lam)
        print(f"| {copies} | {L} | {copies * args.images} | {t['augment']:.2f} | {t['extract']:.2f} | "
              f"{t['fit']:.2f} | {t['score']:.2f} | {t['total']:.2f} | "
              f"{t['total'] / (len(strengths) * L):.3f} |", flush=True)


if __name__ == "__main__":
    main()
