"""tools/analysis_tools/eval_jointnet_tiny.py on an untrained tiny JointNet
(2 steps): every figure and picture is produced; the consistency measure
tells related from unrelated depth maps."""
import json
import os.path as osp

import numpy as np

from tools.analysis_tools.eval_jointnet_tiny import (consistency, correlation,
                                                     main)


def test_consistency_measures_separate_related_from_unrelated():
    rng = np.random.default_rng(0)
    depth = rng.random((4, 16, 16)).astype(np.float32)
    affine = 0.5 * depth + 0.2                  # same geometry
    assert consistency(depth, affine)[0] < 1e-4     # float32 inputs
    assert correlation(depth, affine) > 0.999
    assert abs(correlation(depth, np.roll(depth, 1, axis=0))) < 0.2


def test_report_and_pictures(tmp_path):
    report = main(['--num-samples', '2', '--steps', '2', '--depth-steps',
                   '1', '--batch-size', '2', '--out-dir', str(tmp_path)])
    for name in ('samples.png', 'panorama.png', 'panorama_mesh.png',
                 'panorama.ply', 'metrics.json'):
        assert osp.isfile(tmp_path / name), name
    saved = json.load(open(tmp_path / 'metrics.json'))
    assert saved.keys() == report.keys() and 'joint/pearson' in saved
    assert all(np.isfinite(v) for v in saved.values())
