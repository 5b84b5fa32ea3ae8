"""Every evaluator named in the dataset base configs builds."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from unidense.registry import METRICS

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', '_base_', 'datasets',
                                    '*.py')))


@pytest.mark.skipif(not CONFIGS, reason='no dataset base configs yet')
def test_dataset_config_evaluators_build():
    built = 0
    for path in CONFIGS:
        cfg = Config.fromfile(path)
        for key in ('val_evaluator', 'test_evaluator'):
            ev = cfg.get(key)
            if ev is None:
                continue
            for metric_cfg in (ev if isinstance(ev, list) else [ev]):
                if 'metrics' in metric_cfg and 'type' not in metric_cfg:
                    continue  # an Evaluator wrapper, built by the Runner
                metric = METRICS.build(metric_cfg)
                assert metric is not None, (path, key)
                built += 1
    assert built > 0
