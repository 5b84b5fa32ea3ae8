"""Side-by-side depth of several tiny depth estimators on held-out scenes
or the real NYUv2 samples: what the depth tables of the MERGE and JointNet
READMEs measure.

    python tools/analysis_tools/onestep_pictures.py \\
        --merge work_dirs/pixart_depth_tiny/iter_1000.pth \\
        --merge-onestep work_dirs/pixart_depth_onestep_tiny/iter_300.pth \\
        --jointnet-onestep work_dirs/sd21_rgbd_onestep_tiny/iter_600.pth \\
        [--model TITLE CONFIG CKPT [KEY=VALUE ...]] [--data held-out|nyu] \\
        [--num 4] [--out configs/jointnet/pictures/tiny_onestep.jpg]

One row per held-out SyntheticScenes image (seed 1000, the tiny configs'
test set): the image, its ground-truth depth, tiny MERGE with 20 DDIM steps
(one draw), with one trailing step (before fine-tuning), the end-to-end
fine-tuned one step, and the one-step JointNet; each ``--model`` adds a
column of any config and checkpoint (with config options, e.g.
``model.ensemble_size=8``). ``--data nyu`` takes the rows from the 50 real
NYUv2 samples of ../shared/data/realdata instead. Each prediction is aligned
to the ground truth by least squares (as the metric does) and coloured with
the ground truth's range (near = red), so colours compare across columns;
the AbsRel (%) of each map is in its title. Any checkpoint left out drops
its column.
"""
import argparse
import os
import os.path as osp
import sys

os.environ.setdefault('HF_HUB_OFFLINE', '1')
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(1, REPO)

import numpy as np  # noqa: E402
import torch  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--merge', help='pixart_depth_tiny.py checkpoint')
    parser.add_argument('--merge-onestep',
                        help='pixart_depth_onestep_tiny.py checkpoint')
    parser.add_argument('--jointnet-onestep',
                        help='sd21_rgbd_onestep_tiny.py checkpoint')
    parser.add_argument('--model', nargs='+', action='append', default=[],
                        metavar='TITLE CONFIG CKPT [KEY=VALUE]',
                        help='another column: title, config, checkpoint '
                        'and config options (repeatable)')
    parser.add_argument('--data', choices=['held-out', 'nyu'],
                        default='held-out')
    parser.add_argument('--num', type=int, default=4)
    parser.add_argument('--out', default=osp.join(
        REPO, 'configs', 'jointnet', 'pictures', 'tiny_onestep.jpg'))
    return parser.parse_args(argv)


def columns(args):
    """[(title, config, checkpoint, cfg_options)] of the available models."""
    merge = 'configs/merge/pixart_depth_tiny.py'
    cols = []
    if args.merge:
        cols += [('MERGE 20 steps', merge, args.merge,
                  {'model.num_inference_steps': 20,
                   'model.ensemble_size': 1}),
                 ('MERGE 1 step', 'configs/merge/pixart_depth_onestep_tiny.py',
                  args.merge, None)]
    if args.merge_onestep:
        cols.append(('MERGE 1 step, E2E', 'configs/merge/'
                     'pixart_depth_onestep_tiny.py', args.merge_onestep,
                     None))
    if args.jointnet_onestep:
        cols.append(('JointNet 1 step', 'configs/jointnet/'
                     'sd21_rgbd_onestep_tiny.py', args.jointnet_onestep,
                     None))
    for spec in args.model:
        if len(spec) < 3 or any('=' not in o for o in spec[3:]):
            raise SystemExit(f'--model {" ".join(spec)}: expected TITLE '
                             f'CONFIG CKPT [KEY=VALUE ...]')
        # values parsed as tools/test.py --cfg-options parses them
        from mmengine.config import DictAction
        options = {}
        for option in spec[3:]:
            key, value = option.split('=', 1)
            options[key] = DictAction._parse_iterable(value)
        cols.append((spec[0], spec[1], spec[2], options or None))
    if not cols:
        raise SystemExit('give at least one checkpoint')
    return cols


def eval_images(num, data='held-out'):
    """(inputs (N, 3, H, W) in [-1, 1], gt depth (N, H, W) metres, images
    (N, H, W, 3) uint8) of the tiny test scenes (64x64) or of the real NYUv2
    samples (480x640)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from unidense.registry import DATASETS
    init_default_scope('unidense')
    if data == 'nyu':
        loader = Config.fromfile(osp.join(
            REPO, 'configs/_base_/datasets/nyu_real_depth_test.py')
        ).nyu_real_depth_test_dataloader
    else:
        loader = Config.fromfile(osp.join(
            REPO, 'configs/merge/pixart_depth_tiny.py')).test_dataloader
    dataset = DATASETS.build(loader.dataset)
    if num > len(dataset):
        raise SystemExit(f'--num {num}: the {data} set has {len(dataset)} '
                         f'images')
    images, depths = [], []
    for i in range(num):
        sample = dataset[i]
        images.append(sample['inputs'].permute(1, 2, 0).numpy())
        depths.append(sample['data_samples'].gt_depth.data[0].numpy())
    rgb = np.stack(images)
    inputs = torch.from_numpy(rgb).permute(0, 3, 1, 2).float() / 127.5 - 1
    return inputs, np.stack(depths), rgb


def main(argv=None):
    args = parse_args(argv)
    from unidense.apis import init_model
    from unidense.evaluation.functional import (align_depth_least_squares,
                                                depth_errors)
    from unidense.visualization import colorize_depth
    from unidense.visualization.panel import make_panel, write_png
    cols = columns(args)
    inputs, gt, rgb = eval_images(args.num, args.data)
    preds = []
    for title, config, ckpt, options in cols:
        if args.data == 'nyu':
            # the models were trained on 64-pixel scenes: the real-NYU
            # configs' processing resolution (48x64 for NYU's 480x640)
            options = {'model.processing_res': 64, **(options or {})}
        model = init_model(osp.join(REPO, config), ckpt, cfg_options=options)
        with torch.no_grad():
            torch.manual_seed(0)
            out = model(inputs, None, mode='tensor')
            # JointNet returns {modality: map}, the others the depth map
            out = out['depth'] if isinstance(out, dict) else out
            preds.append(out[:, 0].numpy())
        print(f'{title}: done', flush=True)
    rows = []
    for i in range(args.num):
        valid = gt[i] > 0
        lo, hi = np.percentile(gt[i][valid], [2, 98])
        tiles = [rgb[i], colorize_depth(gt[i], vmin=lo, vmax=hi)]
        titles = ['image', 'ground truth']
        for (title, *_), pred in zip(cols, preds):
            aligned, _, _ = align_depth_least_squares(pred[i], gt[i], valid)
            err = depth_errors(np.maximum(aligned, 1e-3), gt[i],
                               valid)['abs_rel']
            tiles.append(colorize_depth(aligned, mask=valid, vmin=lo,
                                        vmax=hi))
            titles.append(f'{title} {100 * err:.1f}')
        rows.append(make_panel(tiles, titles, height=160))
    width = max(r.shape[1] for r in rows)
    grid = np.concatenate([np.pad(r, ((0, 4), (0, width - r.shape[1]),
                                      (0, 0))) for r in rows])
    write_png(args.out, grid)
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
