"""The measures the tiny family is judged by: Fréchet distance and the
wall / floor colour probe."""
import numpy as np
import pytest
import torch

from unidense.datasets import SyntheticScenes
from unidense.evaluation.functional.frechet import (RandomConvFeatures,
                                                    frechet_distance)
from unidense.evaluation.functional.scene_colors import SceneColorProbe


def test_frechet_distance_matches_closed_form_for_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, size=(20000, 3))
    b = rng.normal(0, 2, size=(20000, 3)) + np.array([1.0, 0, 0])
    # identity vs 4*identity covariance: |mu|^2 + 3 * (1 + 4 - 2 * 2)
    assert frechet_distance(a, b) == pytest.approx(1 + 3, rel=0.03)
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    with pytest.raises(ValueError, match='features'):
        frechet_distance(a, b[:, :2])


def test_random_conv_features_fixed_by_seed():
    x = torch.rand(4, 3, 64, 64)
    f = RandomConvFeatures(seed=0)(x)
    assert f.shape == (4, 128)
    assert torch.equal(f, RandomConvFeatures(seed=0)(x))
    assert not torch.equal(f, RandomConvFeatures(seed=1)(x))


def test_colour_probe_reads_real_scenes_and_rejects_wrong_colours():
    fit = SyntheticScenes(num_samples=600, img_size=32, seed=3000,
                          max_objects=4)
    test = SyntheticScenes(num_samples=80, img_size=32, seed=2000,
                           max_objects=4)
    fit_r = [fit.render(i) for i in range(600)]
    probe = SceneColorProbe(fit_r, [r['scene'] for r in fit_r])
    test_r = [test.render(i) for i in range(80)]
    named = [r['scene'] for r in test_r]
    acc = probe.accuracy([r['img'] for r in test_r], named)
    assert acc['walls'] >= 0.8 and acc['floor'] >= 0.75, acc
    # images of other scenes than the captions name: near chance
    shuffled = probe.accuracy([r['img'] for r in test_r[1:] + test_r[:1]],
                              named)
    assert shuffled['both'] < 0.35, shuffled
