"""tools/analysis_tools/memory_plan.py: the estimate of the tiny MERGE and
JointNet training steps is within 15 % of their measured peak tensor
memory, and the switches move what they should."""
import os.path as osp

import pytest

from tools.analysis_tools import memory_plan

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.parametrize('config', ['merge/pixart_depth_tiny.py',
                                    'jointnet/sd21_rgbd_tiny.py',
                                    'diff2in1/vpd_nyu_depth_tiny.py'])
def test_estimate_within_tolerance_of_the_measured_peak(config, capsys):
    path = osp.join(REPO, 'configs', config)
    plain = memory_plan.main([path, '--batch', '8', '--measure'])
    assert 0.85 <= plain['total'] / plain['measured'] <= 1.15
    assert plain['activations'] > 0
    out = capsys.readouterr().out
    assert 'total_mib=' in out and 'measured_peak_mib=' in out
    sharded = memory_plan.main([path, '--batch', '8', '--strategy', 'fsdp',
                         '--gpus', '4', '--frozen-dtype', 'bf16'])
    for key in ('trainable_weights', 'gradients', 'optimizer_state'):
        assert sharded[key] == pytest.approx(plain[key] / 4)
    assert sharded['frozen_weights'] == pytest.approx(
        plain['frozen_weights'] / 2)
    assert sharded['activations'] == pytest.approx(plain['activations'])


def test_checkpointing_keeps_fewer_activations():
    path = osp.join(REPO, 'configs', 'jointnet/sd21_rgbd_tiny.py')
    plain = memory_plan.main([path, '--batch', '4'])
    ckpt = memory_plan.main([path, '--batch', '4', '--checkpointing'])
    assert ckpt['activations'] < 0.6 * plain['activations']
