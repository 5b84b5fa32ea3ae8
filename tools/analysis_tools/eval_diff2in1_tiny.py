"""Train and evaluate every Diff-2-in-1 tiny config on the pretrained tiny
UNet and on a random UNet of the same shape, next to trivial baselines.

    python tools/analysis_tools/eval_diff2in1_tiny.py [--iters 300]
        [--held-out 32] [--configs bae_nyu_normal_tiny ...]
        [--work-dir work_dirs/diff2in1_tiny_eval]

For each config: ``tools/train.py`` for ``--iters`` iterations (the
config's schedule stretched to that length), then ``tools/test.py`` on
``--held-out`` SyntheticScenes of seed 1000 (never trained on), once with
the frozen pretrained UNet of model_zoo/unidense-tiny and once with the
same architecture randomly initialised (seed 0; its frozen weights are
saved with the checkpoint). The trivial baselines are scored by the same
evaluator on the same scenes: the mean depth, normal (renormalised),
saliency and edge maps and the most frequent class / part of 64 training
scenes. The depth, normal and segmentation models are also tested on the
50 real NYUv2 images (their ``*_nyu_real.py`` configs), next to the same
trivial predictors. Finished runs are skipped when the command is run
again. Prints
``name=value`` lines and writes ``results.json`` and ``results.md``.
"""
import argparse
import json
import os
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(1, REPO)

CONFIGS = ('bae_nyu_normal_tiny', 'idisc_nyu_normal_tiny',
           'vpd_nyu_depth_tiny', 'vpd_ade20k_seg_tiny', 'invpt_nyudmt_tiny',
           'taskprompter_nyudmt_tiny', 'invpt_pascal_tiny',
           'taskprompter_pascal_tiny')
RANDOM_UNET = ['model.backbone.unet.from_pretrained=None',
               'save_frozen_weights=True']
# the figure shown per task in the table, and whether lower is better
HEADLINE = {'normal/mean': True, 'depth/rmse': True, 'depth/abs_rel': True,
            'seg/mIoU': False, 'parsing/mIoU': False, 'sal/maxF': False}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--configs', nargs='+', default=list(CONFIGS))
    parser.add_argument('--iters', type=int, default=300)
    parser.add_argument('--held-out', type=int, default=32)
    parser.add_argument('--work-dir', default=osp.join(
        REPO, 'work_dirs', 'diff2in1_tiny_eval'))
    return parser.parse_args(argv)


def schedule_options(iters):
    """Stretch the tiny schedule (warm-up 5, linear decay) to ``iters``."""
    return [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            f'param_scheduler.1.end={iters}',
            f'default_hooks.checkpoint.interval={iters}',
            'default_hooks.logger.interval=50']


def held_out_options(n):
    return [f'test_dataloader.dataset.num_samples={n}',
            f'val_dataloader.dataset.num_samples={n}']


def run(cmd, log):
    from tools.analysis_tools.tool_runs import run_logged
    run_logged(cmd, log)


def train_and_test(name, variant, args):
    """Metrics dict of one config / variant (cached in its work dir)."""
    work = osp.join(args.work_dir, f'{name}_{variant}')
    out = osp.join(work, 'held_out.json')
    if osp.isfile(out):
        return json.load(open(out))
    config = osp.join(REPO, 'configs', 'diff2in1', f'{name}.py')
    extra = RANDOM_UNET if variant == 'random' else []
    os.makedirs(work, exist_ok=True)
    run([sys.executable, 'tools/train.py', config, '--work-dir', work,
         '--cfg-options'] + schedule_options(args.iters) +
        held_out_options(8) + extra, osp.join(work, 'train.log'))
    ckpt = open(osp.join(work, 'last_checkpoint')).read().strip()
    run([sys.executable, 'tools/test.py', config, ckpt, '--work-dir', work,
         '--out', out, '--cfg-options'] + held_out_options(args.held_out) +
        extra, osp.join(work, 'test.log'))
    return json.load(open(out))


def constant_predictions(cfg, num_train=64):
    """The trivial predictor's maps from ``num_train`` training scenes
    (test pipeline: no flips): mean depth / saliency / edge, the mean normal
    renormalised, the most frequent class and part."""
    import torch
    import torch.nn.functional as F

    from unidense.registry import DATASETS
    ds_cfg = dict(cfg.train_dataloader.dataset)
    ds_cfg['pipeline'] = cfg.test_dataloader.dataset.pipeline
    dataset = DATASETS.build(ds_cfg)
    samples = [dataset[i]['data_samples'] for i in range(
        min(num_train, len(dataset)))]
    preds = {}
    for gt, pred in (('gt_depth', 'pred_depth'),
                     ('gt_saliency', 'pred_saliency'),
                     ('gt_edge', 'pred_edge'), ('gt_normal', 'pred_normal')):
        if getattr(samples[0], gt, None) is not None:
            preds[pred] = torch.stack([getattr(s, gt).data.float()
                                       for s in samples]).mean(0)
    if 'pred_normal' in preds:
        preds['pred_normal'] = F.normalize(preds['pred_normal'], dim=0)
    for gt, pred in (('gt_sem_seg', 'pred_sem_seg'),
                     ('gt_parsing', 'pred_parsing')):
        if getattr(samples[0], gt, None) is not None:
            labels = torch.cat([getattr(s, gt).data.flatten()
                                for s in samples])
            labels = labels[labels != 255]
            preds[pred] = torch.full_like(getattr(samples[0], gt).data,
                                          int(labels.mode().values))
    return preds


def _resized(value, size):
    """A constant map resized to a sample's ground truth (nearest for
    labels, bilinear + renormalised for normals)."""
    import torch.nn.functional as F
    if tuple(value.shape[-2:]) == tuple(size):
        return value.clone()
    if not value.is_floating_point():
        return F.interpolate(value[None].float(), size=size,
                             mode='nearest')[0].long()
    out = F.interpolate(value[None], size=size, mode='bilinear',
                        align_corners=False)[0]
    return F.normalize(out, dim=0) if value.shape[0] == 3 else out


def score_baseline(name, held_out, test_name=None):
    """The test evaluator of ``test_name`` (default ``name``) on the
    trivial predictor made from ``name``'s training scenes."""
    from mmengine.config import Config
    folder = osp.join(REPO, 'configs', 'diff2in1')
    preds = constant_predictions(Config.fromfile(osp.join(folder,
                                                          f'{name}.py')))
    cfg = Config.fromfile(osp.join(folder, f'{test_name or name}.py'))
    if test_name is None:
        cfg.merge_from_dict({'test_dataloader.dataset.num_samples':
                             held_out})
    return score_constant_predictions(cfg, preds)


def score_constant_predictions(cfg, preds):
    """``cfg``'s (first) test evaluator on its test set, every sample
    predicted as ``preds`` ({``pred_*`` field: map}) resized to the
    sample's ``ori_shape``."""
    from mmengine.dataset import pseudo_collate

    from unidense.registry import DATASETS, METRICS
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    evaluator = cfg.test_evaluator
    metric = METRICS.build(evaluator[0] if isinstance(evaluator, list)
                           else evaluator)
    metric.dataset_meta = dataset.metainfo
    for start in range(0, len(dataset), 8):
        batch = pseudo_collate([dataset[i] for i in range(
            start, min(start + 8, len(dataset)))])
        for sample in batch['data_samples']:
            size = sample.ori_shape
            for field, value in preds.items():
                setattr(sample, field, _resized(value, size))
        metric.process(batch, [s.to_dict() for s in batch['data_samples']])
    return metric.evaluate(len(dataset))


def test_on_nyu(name, variant, args):
    """``<name>_nyu_real.py`` on the trained checkpoint (None when the
    config has no real-NYU variant or the data is missing)."""
    nyu = osp.join(REPO, 'configs', 'diff2in1', f'{name}_nyu_real.py')
    data = osp.join(REPO, '..', 'shared', 'data', 'realdata', 'nyu_depth_v2')
    if not (osp.isfile(nyu) and osp.isdir(data)):
        return None
    work = osp.join(args.work_dir, f'{name}_{variant}')
    out = osp.join(work, 'nyu.json')
    if not osp.isfile(out):
        ckpt = open(osp.join(work, 'last_checkpoint')).read().strip()
        extra = RANDOM_UNET if variant == 'random' else []
        run([sys.executable, 'tools/test.py', nyu, ckpt, '--work-dir',
             osp.join(work, 'nyu'), '--out', out] +
            (['--cfg-options'] + extra if extra else []),
            osp.join(work, 'nyu.log'))
    return json.load(open(out))


def headline(metrics):
    return {k: v for k, v in metrics.items() if k in HEADLINE}


def table(results):
    rows = ['| config | figure | pretrained UNet | random UNet | trivial '
            'baseline | prior helps by |', '|---|---|---|---|---|---|']
    for name, res in results.items():
        for key, lower in HEADLINE.items():
            if key not in res['pretrained']:
                continue
            p, r, b = (res[v][key] for v in ('pretrained', 'random',
                                              'baseline'))
            gain = (r - p) if lower else (p - r)
            rows.append(f'| {name} | {key} ({"lower" if lower else "higher"}'
                        f' is better) | {p:.2f} | {r:.2f} | {b:.2f} | '
                        f'{gain:+.2f} |')
    return '\n'.join(rows)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    results = {}
    for name in args.configs:
        res = {v: headline(train_and_test(name, v, args))
               for v in ('pretrained', 'random')}
        res['baseline'] = headline(score_baseline(name, args.held_out))
        results[name] = res
        nyu = {v: test_on_nyu(name, v, args) for v in ('pretrained',
                                                        'random')}
        if nyu['pretrained'] is not None:
            nyu = {v: headline(m) for v, m in nyu.items()}
            nyu['baseline'] = headline(score_baseline(
                name, args.held_out, f'{name}_nyu_real'))
            results[f'{name} (real NYU)'] = nyu
        for variant, metrics in res.items():
            for key, value in metrics.items():
                print(f'{name}/{variant}/{key}={value:.4f}', flush=True)
    from unidense.utils.checkpoint_io import write_text_atomic
    write_text_atomic(osp.join(args.work_dir, 'results.json'),
                      json.dumps(results, indent=2) + '\n')
    write_text_atomic(osp.join(args.work_dir, 'results.md'),
                      table(results) + '\n')
    print(table(results))
    return results


if __name__ == '__main__':
    main()
