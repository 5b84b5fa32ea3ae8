"""Score the trivial depth baseline a model must beat: the mean depth map of
the training scenes, predicted for every test image.

    python tools/analysis_tools/mean_depth_baseline.py CONFIG
        [--test-config CONFIG2] [--num-train 256] [--out metrics.json]

The mean of the first ``--num-train`` training depth maps (CONFIG's
``train_dataloader``) is resized to each test image and scored by the test
evaluator of ``--test-config`` (default CONFIG) exactly as ``tools/test.py``
scores a model: same dataloader, same ``DepthMetric`` (alignment, crop,
range). Prints ``name=value`` lines.
"""
import argparse
import json
import os.path as osp
import sys

_REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if _REPO not in sys.path:
    sys.path.insert(1, _REPO)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--test-config')
    parser.add_argument('--num-train', type=int, default=256)
    parser.add_argument('--out')
    return parser.parse_args(argv)


def mean_train_depth(cfg, num):
    """(1, H, W) mean of the first ``num`` training ``gt_depth`` maps, as
    loaded without the pipeline's random transforms (flips drew from the
    unseeded global state and moved the baseline between runs)."""
    import copy

    import torch

    from unidense.registry import DATASETS
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    if dataset_cfg.get('pipeline'):
        dataset_cfg['pipeline'] = [t for t in dataset_cfg['pipeline']
                                   if not str(t['type']).startswith('Random')]
    dataset = DATASETS.build(dataset_cfg)
    n = min(num, len(dataset))
    depths = [dataset[i]['data_samples'].gt_depth.data for i in range(n)]
    return torch.stack(depths).float().mean(0)


def score_constant_map(cfg, depth_map):
    """The test evaluator's metrics for ``depth_map`` (1, h, w) resized
    (bilinear) to every test image's ground truth."""
    import torch.nn.functional as F
    from mmengine.dataset import pseudo_collate

    from unidense.registry import DATASETS, METRICS
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    metric = METRICS.build(cfg.test_evaluator)
    metric.dataset_meta = dataset.metainfo
    for start in range(0, len(dataset), 4):
        batch = pseudo_collate([dataset[i] for i in range(
            start, min(start + 4, len(dataset)))])
        for sample in batch['data_samples']:
            size = sample.gt_depth.data.shape[-2:]
            sample.pred_depth = F.interpolate(
                depth_map[None], size=size, mode='bilinear',
                align_corners=False)[0]
        metric.process(batch, [s.to_dict() for s in batch['data_samples']])
    return metric.compute_metrics(metric.results)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config

    import unidense.datasets  # noqa: F401
    import unidense.evaluation  # noqa: F401
    cfg = Config.fromfile(args.config)
    test_cfg = Config.fromfile(args.test_config or args.config)
    metrics = score_constant_map(test_cfg,
                                 mean_train_depth(cfg, args.num_train))
    for key, value in metrics.items():
        print(f'{key}={value}')
    if args.out:
        from unidense.utils.checkpoint_io import write_text_atomic
        write_text_atomic(args.out, json.dumps(metrics, indent=2) + '\n')
    return metrics


if __name__ == '__main__':
    main()
