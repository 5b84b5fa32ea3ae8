"""Kill-and-resume, one trial per method in the default suite (MERGE's is
in tests/test_integration/test_merge_dist_and_resume.py): SIGKILL at a
random iteration, --resume, same weights as an uninterrupted run (max abs
diff 0). Ten trials each: tools/analysis_tools/kill_resume_trials.py (the
figures are in docs/reliability.md)."""
import os.path as osp

import pytest

from tools.analysis_tools.kill_resume_trials import main

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _synthetic_images(folder, config, n=4):
    """A few unlabelled images in create_synthetic.py's layout (copies of
    training scenes: the test is about resuming, not about their look)."""
    import cv2
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from unidense.registry import DATASETS
    init_default_scope('unidense')
    cfg = Config.fromfile(osp.join(REPO, config))
    src = dict(cfg.train_dataloader.dataset.datasets[0],
               pipeline=[dict(type='LoadImage'),
                         dict(type='PackDenseInputs')])
    dataset = DATASETS.build(src)
    folder.mkdir(parents=True)
    for i in range(n):
        sample = dataset[i]
        rgb = sample['inputs'].permute(1, 2, 0).numpy()
        cv2.imwrite(str(folder / f'r{i:06d}.png'), rgb[..., ::-1])
        (folder / f'r{i:06d}.txt').write_text(sample['data_samples'].caption)
    return folder


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize('config', [
    'configs/jointnet/sd21_rgbd_tiny.py',
    'configs/diff2in1/bae_nyu_normal_tiny.py',
    # self-improving: stage 2 from iteration 1, EMA every iteration, so the
    # kill lands in stage 2 and both theta_E and theta_C are compared
    'configs/diff2in1/bae_nyu_normal_selfimprove_tiny.py'])
def test_sigkill_then_resume_equals_uninterrupted(tmp_path, config, capsys):
    extra = []
    if 'selfimprove' in config:
        synthetic = _synthetic_images(tmp_path / 'synthetic', config)
        extra = ['custom_hooks.0.warmup_iters=1',
                 'train_dataloader.batch_sampler.warmup_iters=1',
                 'custom_hooks.0.ema_interval=1',
                 f'train_dataloader.dataset.datasets.1.data_root={synthetic}']
    rc = main([osp.join(REPO, config), '--trials', '1', '--iters', '3',
               '--seed', '1', '--work-dir', str(tmp_path / 'runs'),
               '--cfg-options', 'train_dataloader.batch_size=2'] + extra)
    out = capsys.readouterr().out
    assert rc == 0, out
    assert 'passed=1' in out and 'max_abs_diff=0' in out
