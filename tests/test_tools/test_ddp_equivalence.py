"""tools/analysis_tools/ddp_equivalence.py: the options that make one and
two processes draw the same data and noise, the SGD twin config and the
learning-rate bound it prints (the runs themselves are the dist test in
tests/test_integration/test_merge_dist_and_resume.py)."""
import os.path as osp

import pytest
from mmengine.config import Config

from tools.analysis_tools import ddp_equivalence as tool

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.parametrize('method', sorted(tool.METHODS))
def test_options_turn_every_flip_off(method):
    cfg = Config.fromfile(osp.join(REPO, tool.METHODS[method]))
    opts = tool._options(cfg, 4)
    assert 'model.train_seed=0' in opts and 'sync_bn=torch' in opts
    flips = [o for o in opts if o.endswith('.prob=0.0')]
    cfg.merge_from_dict(dict(o.split('=') for o in flips))
    assert all(t.get('prob') in (None, '0.0') for t in
               cfg.train_dataloader.dataset.pipeline
               if t['type'] == 'RandomFlip') and flips


def test_sgd_twin_and_learning_rate_sum(tmp_path):
    path = tool._sgd_config(tool.METHODS['merge'], 1e-3, str(tmp_path))
    cfg = Config.fromfile(path)
    assert dict(cfg.optim_wrapper.optimizer) == dict(
        type='SGD', lr=1e-3, momentum=0.0, weight_decay=0.0)
    assert cfg.model.type == 'MERGE'
    # LinearLR warm-up of the tiny MERGE config (begin 0, end 20): mmengine
    # reaches the end factor at iteration end - 1, so the factor climbs
    # by (1 - start_factor) / 19 per iteration
    base = Config.fromfile(osp.join(REPO, tool.METHODS['merge']))
    f0 = base.param_scheduler[0].start_factor
    step = (1.0 - f0) / 19
    expected = sum(1e-3 * (f0 + i * step) for i in range(4))
    assert tool._lr_sum(base, 4) == pytest.approx(expected, rel=1e-6)
