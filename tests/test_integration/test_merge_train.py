"""End to end: tools/train.py configs/merge/pixart_depth_tiny.py on CPU.

Trains MERGE-B at tiny sizes on SyntheticScenes, then scores the model on
held-out scenes against the trivial baseline "predict the mean training
depth map", both with the same DepthMetric (least-squares scale and shift).
"""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'merge', 'pixart_depth_tiny.py')


def _evaluate(cfg, predict_fn):
    """DepthMetric (the config's evaluator) over the test dataloader."""
    from mmengine.dataset import pseudo_collate
    from unidense.registry import DATASETS, METRICS
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    metric = METRICS.build(cfg.test_evaluator)
    metric.dataset_meta = dataset.metainfo
    for start in range(0, len(dataset), 4):
        batch = pseudo_collate(
            [dataset[i] for i in range(start, min(start + 4,
                                                  len(dataset)))])
        samples = predict_fn(batch)
        metric.process(batch, [s.to_dict() for s in samples])
    return metric.compute_metrics(metric.results)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_tiny_merge_trains_and_beats_mean_depth_baseline(tmp_path):
    from mmengine.config import Config
    import unidense.datasets  # noqa: F401
    import unidense.evaluation  # noqa: F401
    import unidense.models  # noqa: F401
    from unidense.registry import DATASETS, MODELS
    from unidense.utils.checkpoint_io import load_checkpoint_safe

    work_dir = str(tmp_path / 'work')
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'train.py'), CONFIG,
         '--work-dir', work_dir], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=560)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cfg = Config.fromfile(CONFIG)
    ckpt_path = osp.join(work_dir, f'iter_{cfg.train_cfg.max_iters}.pth')
    assert osp.isfile(ckpt_path)
    # checkpoints hold only the converters (frozen parts come from config)
    state = load_checkpoint_safe(ckpt_path)['state_dict']
    model = MODELS.build(cfg.model)
    assert state and set(state) == {
        'fusion.' + k for k in model.fusion.state_dict()}

    # evaluate as tools/test.py does (the runner rebuilds the frozen,
    # seeded random-init tiny parts from the config, then loads the file)
    from unidense.registry import RUNNERS
    test_cfg = cfg.copy()
    test_cfg.work_dir = str(tmp_path / 'test')
    test_cfg.load_from = ckpt_path
    ours = RUNNERS.build(test_cfg).test()
    ours = {k.split('/')[-1]: v for k, v in ours.items()}

    # baseline: the mean depth map of the training scenes for every image
    train_set = DATASETS.build(cfg.train_dataloader.dataset)
    depths = [train_set[i]['data_samples'].gt_depth.data
              for i in range(len(train_set))]
    mean_map = torch.stack(depths).mean(0)

    def predict_mean(batch):
        samples = batch['data_samples']
        for s in samples:
            s.pred_depth = mean_map.clone()
        return samples

    baseline = _evaluate(cfg, predict_mean)
    print(f'MERGE tiny AbsRel {ours["abs_rel"]:.2f} delta1 '
          f'{ours["delta1"]:.1f} vs mean-map baseline AbsRel '
          f'{baseline["abs_rel"]:.2f} delta1 {baseline["delta1"]:.1f}')
    assert ours['num_images'] == baseline['num_images'] == 24
    assert ours['abs_rel'] < baseline['abs_rel']
