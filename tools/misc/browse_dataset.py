"""Write what the data pipeline feeds the model as PNG panels.

    python tools/misc/browse_dataset.py CONFIG [--output-dir DIR]
        [--split train|val|test] [--max-samples N] [--min-height PX]
        [--cfg-options k=v ...]

Each sample becomes one PNG: RGB | colour-mapped depth | normals | labels
(| parsing | saliency), for the fields the pipeline produces. Depth uses
Spectral with a per-image 2-98 % range, invalid depth is black; normals are
(n + 1) / 2; labels use a fixed palette with the ignore index in black.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write PNG panels of what a dataset pipeline yields')
    parser.add_argument('config', help='config file')
    parser.add_argument('--output-dir', default=None,
                        help='folder for the PNGs (default: '
                        'work_dirs/browse_dataset/<config name>/<split>)')
    parser.add_argument('--split', default='train',
                        choices=['train', 'val', 'test'],
                        help='which <split>_dataloader.dataset to build')
    parser.add_argument('--max-samples', type=int, default=10,
                        help='number of samples to draw')
    parser.add_argument('--min-height', type=int, default=192,
                        help='upscale smaller samples to this panel height')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args(argv)


def _results_to_sample(item):
    """(image, sample-like) from a pipeline output.

    Packed outputs are ``dict(inputs, data_samples)``; an unpacked results
    dict (a pipeline without PackDenseInputs) holds numpy maps H x W first.
    """
    import numpy as np
    if isinstance(item, dict) and 'data_samples' in item:
        return item.get('inputs'), item['data_samples']
    if not isinstance(item, dict) or 'img' not in item:
        raise TypeError(f'dataset item has neither data_samples nor img: '
                        f'{type(item)}')
    sample = {}
    for key, value in item.items():
        if not key.startswith('gt_') or value is None:
            continue
        arr = np.asarray(value)
        if key == 'gt_normal' and arr.ndim == 3 and arr.shape[-1] == 3:
            arr = arr.transpose(2, 0, 1)
        sample[key] = dict(data=arr)
    return item['img'], sample


def main(argv=None):
    args = parse_args(argv)
    repo_root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    if repo_root not in sys.path:
        sys.path.insert(0, repo_root)
    from unidense.registry import DATASETS
    from unidense.visualization import dense_sample_columns, make_panel

    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'unidense'))
    loader_cfg = cfg.get(f'{args.split}_dataloader', None)
    if not loader_cfg or 'dataset' not in loader_cfg:
        raise SystemExit(f'{args.config} has no {args.split}_dataloader.'
                         f'dataset')
    dataset = DATASETS.build(loader_cfg['dataset'])
    out_dir = args.output_dir or osp.join(
        'work_dirs', 'browse_dataset',
        osp.splitext(osp.basename(args.config))[0], args.split)
    count = min(args.max_samples, len(dataset))
    for idx in range(count):
        image, sample = _results_to_sample(dataset[idx])
        meta = sample.metainfo if hasattr(sample, 'metainfo') else {}
        path = meta.get('img_path')
        stem = osp.splitext(osp.basename(path))[0] if path else 'sample'
        images, titles = dense_sample_columns(sample, image, draw_gt=True,
                                              draw_pred=False)
        out_file = osp.join(out_dir, f'{idx:05d}_{stem}.png')
        # Tiny training crops are upscaled (nearest) to stay readable.
        height = max(max(im.shape[0] for im in images), args.min_height)
        make_panel(images, titles, out_file=out_file, height=height)
        print(f'[{idx + 1}/{count}] {out_file}  ({" | ".join(titles)})')
    print(f'wrote {count} panel(s) to {out_dir}')
    return out_dir


if __name__ == '__main__':
    main()
