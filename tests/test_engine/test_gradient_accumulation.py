"""Issue 26 item 3 (gradient accumulation): batch B with 2-fold
accumulation makes the update of one batch of 2B (tools/train.py, tiny
MERGE, SGD, within 1e-6). Per-sample draws (train_seed) follow the
optimizer step, not the iteration, so both runs draw the same timesteps and
noise for the same samples."""
import os
import os.path as osp
import subprocess
import sys

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _train(config, work_dir, *options):
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
    run = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
         '--cfg-options', *options], cwd=REPO, env=env,
        capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


def test_accumulation_equals_the_large_batch(tmp_path):
    from unidense.utils.checkpoint_io import load_checkpoint_safe
    config = tmp_path / 'merge_sgd.py'
    # constant lr: mmengine steps schedulers every iteration, accumulated
    # or not, so a warm-up would differ between the two runs
    config.write_text(
        f"_base_ = [{osp.join(REPO, 'configs/merge/pixart_depth_tiny.py')!r}]"
        "\nmodel = dict(train_seed=0)\n"
        "optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', "
        "lr=0.5, momentum=0.0, weight_decay=0.0))\n"
        "param_scheduler = []\n")
    common = ['train_dataloader.dataset.pipeline.2.prob=0.0',
              'train_cfg.val_interval=100']
    big, small = str(tmp_path / 'big'), str(tmp_path / 'small')
    _train(str(config), big, 'train_dataloader.batch_size=4',
           'train_cfg.max_iters=1', 'default_hooks.checkpoint.interval=1',
           *common)
    _train(str(config), small, 'train_dataloader.batch_size=2',
           'optim_wrapper.accumulative_counts=2', 'train_cfg.max_iters=2',
           'default_hooks.checkpoint.interval=2', *common)
    a = load_checkpoint_safe(osp.join(big, 'iter_1.pth'))['state_dict']
    b = load_checkpoint_safe(osp.join(small, 'iter_2.pth'))['state_dict']
    assert sorted(a) == sorted(b) and a
    # the step moved the weights (the comparison is not of two inits)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from unidense.registry import MODELS
    from unidense.utils.trainable_state import trainable_state_dict
    init_default_scope('unidense')
    torch.manual_seed(0)
    init = trainable_state_dict(MODELS.build(
        Config.fromfile(str(config)).model))
    moved = max((a[k].float() - init[k].float()).abs().max().item()
                for k in a if k in init)
    worst = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    print(f'moved {moved:.3g}, accumulation vs batch {worst:.3g}')
    assert moved > 1e-4, moved
    assert worst <= 1e-6, worst
