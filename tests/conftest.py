"""Fixtures shared by the test modules, and the ``slow`` marker's switch.

The builders behind the fixtures are plain functions in ``builders.py`` (tests that need
other sizes call them directly).  A module that needs another data set of the same name
defines its own fixture, which overrides the one here for that module.

``@pytest.mark.slow`` marks the full-size form of a long simulation (a coverage rate over
many replicates).  It is skipped unless ``--slow`` is given; the same test runs in CI in a
reduced form (fewer replicates, a bound that a broken method still fails), parametrized
next to it.
"""

from __future__ import annotations

import pytest
from builders import noise

from classdep.datasets import make_mixture


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False,
                     help="also run the full-size simulations marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="full-size simulation: run with --slow (its reduced form runs)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def small():
    """60 samples of 3 standard normal features with 3 uniform labels unrelated to them:
    a problem for input checks and faults, where the fit's quality does not matter."""
    return noise(60, 3, K=3, seed=0)


@pytest.fixture(scope="module")
def mixture():
    """``make_mixture``'s 3 Gaussian classes in 8 features, 240 samples: the small
    cross-validation problem of the sweep and analysis tests."""
    return make_mixture(n_classes=3, n_features=8, n_samples=240, seed=2)
