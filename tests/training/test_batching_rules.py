"""The validation splits at their edges: a stratified split never holds out a whole class (each class
of two or more samples keeps one for training and one for validation), and a random split's two
parts are disjoint and cover every row.

Planted bugs these catch (``scripts/plant_bugs.py``), survivors of every other fast test:
training-10 (a class of two samples held out whole at fraction 0.9) and training-11 (one row in
both parts of a random split: validation on a training row).
"""
import numpy as np

from chainrule.training import random_split, stratified_split


def test_a_stratified_split_keeps_a_sample_of_every_class_on_each_side():
    y = np.array([0, 0, 1, 1, 1, 1, 1, 1, 1, 1])
    for seed in range(5):
        train, held = stratified_split(y, 0.9, np.random.default_rng(seed))
        assert set(y[train]) == {0, 1} and set(y[held]) == {0, 1}
        assert sorted(np.concatenate([train, held])) == list(range(y.size))


def test_a_random_split_is_a_partition():
    for n, fraction in [(10, 0.2), (7, 0.5), (101, 0.1)]:
        train, held = random_split(n, fraction, np.random.default_rng(n))
        assert not set(train.tolist()) & set(held.tolist())
        assert sorted(np.concatenate([train, held])) == list(range(n))
        assert len(held) == max(1, round(fraction * n))
