"""End to end: tools/train.py then tools/test.py on the tiny JointNet.

A few training iterations of sd21_rgbd_tiny_random.py (the family's UNet
architecture, random weights) write a trainable-only checkpoint (the depth
branch and the links, not the frozen RGB UNet / VAE / text encoder);
tools/test.py then evaluates it as a depth estimator (rgb2j channel-wise
inpainting) with the config's DepthMetric, exactly as MERGE is evaluated.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tests', 'test_models', 'test_jointnet'))


def _config(tmp_path):
    from jointnet_tiny_parts import unet_cfg
    path = tmp_path / 'jointnet_tiny_e2e.py'
    base = osp.join(REPO, 'configs', 'jointnet', 'sd21_rgbd_tiny_random.py')
    path.write_text(
        f"_base_ = [{base!r}]\n"
        f"model = dict(backbone=dict(unet=dict(_delete_=True, "
        f"**{unet_cfg()!r})), depth_steps=2)\n"
        "train_dataloader = dict(batch_size=2, dataset=dict(num_samples=4,"
        " cache_size=4, img_size=32))\n"
        "val_dataloader = dict(batch_size=2, dataset=dict(num_samples=4, "
        "img_size=32))\n"
        "test_dataloader = val_dataloader\n"
        "train_cfg = dict(max_iters=2, val_interval=100)\n"
        "param_scheduler = []\n"
        "default_hooks = dict(checkpoint=dict(interval=2), "
        "logger=dict(interval=1))\n")
    return str(path)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_train_then_test_as_a_depth_estimator(tmp_path):
    from unidense.utils.checkpoint_io import load_checkpoint_safe
    cfg = _config(tmp_path)
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    work = str(tmp_path / 'work')
    proc = subprocess.run([sys.executable, 'tools/train.py', cfg,
                           '--work-dir', work], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = osp.join(work, 'iter_2.pth')
    state = load_checkpoint_safe(ckpt)['state_dict']
    assert state and all(k.startswith(('fusion.branches.depth.',
                                       'fusion.links.')) for k in state)
    assert any(k.startswith('fusion.links.rgb_to_depth.') for k in state)
    out = str(tmp_path / 'metrics.json')
    proc = subprocess.run([sys.executable, 'tools/test.py', cfg, ckpt,
                           '--work-dir', str(tmp_path / 'test'), '--out',
                           out], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out) as f:
        metrics = json.load(f)
    names = {k.split('/')[-1] for k in metrics}
    assert {'abs_rel', 'delta1'} <= names, metrics
