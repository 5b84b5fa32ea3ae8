"""Pre-synthesise Diff-2-in-1's stage-2 images (SDEdit re-generation).

    python tools/create_synthetic.py CONFIG [--out-dir DIR] [--limit N]
        [--shard I/N] [--cfg-options k=v ...]

For every labelled training image (the first sub-dataset of the config's
``train_dataloader.dataset``, or ``synthetic_data.source``): VAE latent ->
noised to ``noise_timestep`` (600 of 1000) -> DDIM ``num_inference_steps``
(50) without guidance, conditioned on its caption -> decoded. Written as
``DIR/r{index:06d}.png`` with the caption in ``r{index:06d}.txt``: the
folder layout of ``ImageCaptionDataset``, which the ``*_selfimprove``
configs read as their unlabelled part. The labels are not stored: the
creation copy predicts them online during training.

The config's ``synthetic_data`` dict (all keys optional):

* ``out_dir``: where the images go.
* ``generator``: ``dict(unet|transformer=..., vae=..., text_encoder=...,
  scheduler=...)`` configs of the frozen text-to-image network; None uses
  the model's own (MERGE's DiT, JointNet's RGB UNet).
* ``captions``: ``dict(type='dataset')`` (each sample's caption;
  SyntheticScenes has them), ``dict(type='json', file=...)`` (a JSON
  object ``{image file name or stem: caption}`` or a list in dataset
  order) or ``dict(type='captioner', model=dict(type='Blip2Captioner',
  ...))`` (a registered image captioner).
* ``noise_timestep`` (600), ``num_inference_steps`` (50), ``seed`` (0:
  image i uses seed + i, so results do not depend on sharding),
  ``size`` ((H, W) the source images are resized to; None keeps them),
  ``source`` (a dataset config), ``num_images`` (only the first N source
  images; ``--limit`` overrides).

Resumable (an image whose caption file exists is skipped; files are
written atomically) and sharded: ``--shard I/N`` or, under torchrun, the
``RANK`` / ``WORLD_SIZE`` environment variables split the images.
"""
import argparse
import json
import os
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402

DEFAULTS = dict(out_dir=None, generator=None, captions=dict(type='dataset'),
                noise_timestep=600, num_inference_steps=50, seed=0,
                size=None, source=None, num_images=None)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Pre-synthesise Diff-2-in-1 stage-2 images')
    parser.add_argument('config')
    parser.add_argument('--out-dir', help='overrides synthetic_data.out_dir')
    parser.add_argument('--limit', type=int,
                        help='only the first N source images')
    parser.add_argument('--shard', help='I/N: this process does images '
                        'I, I+N, ... (default: RANK/WORLD_SIZE or 0/1)')
    parser.add_argument('--device', default='cuda' if
                        torch.cuda.is_available() else 'cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def _shard(spec):
    if spec:
        try:
            i, n = (int(v) for v in spec.split('/'))
        except ValueError:
            raise SystemExit(f'--shard {spec!r}: expected I/N, e.g. 0/4')
    else:
        i = int(os.environ.get('RANK', 0))
        n = int(os.environ.get('WORLD_SIZE', 1))
    if not 0 <= i < n:
        raise SystemExit(f'shard {i}/{n}: need 0 <= I < N')
    return i, n


def source_dataset_cfg(cfg, settings):
    """The labelled dataset whose images are re-generated, with a pipeline
    that only loads the image."""
    src = settings.get('source')
    if src is None:
        ds = cfg.train_dataloader.dataset
        if ds.get('type') in ('ConcatDataset', 'mmengine.ConcatDataset'):
            ds = ds.datasets[0]
        src = ds
    src = dict(src)
    src['pipeline'] = [dict(type='LoadImage'), dict(type='PackDenseInputs')]
    src.pop('serialize_data', None)
    return src


def build_generator(cfg, settings, device):
    """dict(denoiser, vae, text_encoder, scheduler) of the frozen T2I
    network."""
    from unidense.diffusion import LatentCodec
    from unidense.pipelines import generative_parts
    from unidense.registry import MODELS
    gen = settings.get('generator')
    if gen is None:
        model = MODELS.build(cfg.model)
        model = getattr(model, 'estimator', model)  # SelfImprovingEstimator
        parts = generative_parts(model)
    else:
        gen = dict(gen)
        net = gen.get('unet', gen.get('transformer'))
        if net is None:
            raise KeyError('synthetic_data.generator needs `unet` or '
                           '`transformer`')
        for key in ('vae', 'text_encoder', 'scheduler'):
            if key not in gen:
                raise KeyError(f'synthetic_data.generator needs `{key}`')
        parts = dict(denoiser=MODELS.build(net),
                     vae=LatentCodec(vae=gen['vae'], sample_posterior=True),
                     text_encoder=MODELS.build(gen['text_encoder']),
                     scheduler=gen['scheduler'])
    for key in ('denoiser', 'vae', 'text_encoder'):
        parts[key] = parts[key].to(device).eval().requires_grad_(False)
    return parts


class CaptionSource:
    """Captions per source image from the dataset, a JSON file or a
    captioner model."""

    def __init__(self, spec, device):
        spec = dict(spec or dict(type='dataset'))
        self.kind = spec.pop('type')
        self.device = device
        if self.kind == 'json':
            path = spec['file']
            with open(path) as f:
                self.table = json.load(f)
        elif self.kind == 'captioner':
            from unidense.registry import MODELS
            self.model = MODELS.build(spec['model']).to(device).eval()
        elif self.kind != 'dataset':
            raise ValueError(f"synthetic_data.captions type {self.kind!r}: "
                             f"expected 'dataset', 'json' or 'captioner'")

    def __call__(self, index, sample, image):
        if self.kind == 'dataset':
            cap = sample.caption or sample.metainfo.get('caption')
            if cap is None:
                raise KeyError(f'source image {index} '
                               f'({sample.metainfo.get("img_path")}) has no '
                               f'caption; use captions=dict(type="json", '
                               f'file=...) or a captioner')
            return cap
        if self.kind == 'json':
            if isinstance(self.table, list):
                return self.table[index]
            path = sample.metainfo.get('img_path') or ''
            for key in (osp.basename(path),
                        osp.splitext(osp.basename(path))[0], str(index)):
                if key in self.table:
                    return self.table[key]
            raise KeyError(f'captions JSON has no entry for image {index} '
                           f'({path})')
        with torch.no_grad():
            return self.model((image[None].to(self.device) + 1) / 2)[0]


def _write_atomic(path, write):
    root, ext = osp.splitext(path)
    tmp = f'{root}.tmp{os.getpid()}{ext}'   # cv2 reads the extension
    write(tmp)
    os.replace(tmp, path)


def _imwrite(cv2, path, rgb):
    if not cv2.imwrite(path, rgb[..., ::-1]):
        raise OSError(f'cannot write {path}')


def main(argv=None):
    args = parse_args(argv)
    import cv2
    from mmengine.registry import init_default_scope
    from tqdm import tqdm

    import unidense  # noqa: F401  (registers everything)
    from unidense.pipelines import regenerate_images
    from unidense.registry import DATASETS
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'unidense'))
    settings = dict(DEFAULTS, **dict(cfg.get('synthetic_data', {}) or {}))
    out_dir = args.out_dir or settings['out_dir']
    if not out_dir:
        raise SystemExit('no output folder: give --out-dir or '
                         'synthetic_data.out_dir in the config')
    os.makedirs(out_dir, exist_ok=True)
    rank, world = _shard(args.shard)
    dataset = DATASETS.build(source_dataset_cfg(cfg, settings))
    limit = args.limit if args.limit is not None else settings['num_images']
    total = len(dataset) if limit is None else min(int(limit), len(dataset))
    todo = [i for i in range(rank, total, world)
            if not osp.exists(osp.join(out_dir, f'r{i:06d}.txt'))]
    print(f'create_synthetic: {total} source images, shard {rank}/{world}, '
          f'{len(todo)} to make -> {out_dir}', flush=True)
    if not todo:
        return 0
    parts = build_generator(cfg, settings, args.device)
    captions = CaptionSource(settings['captions'], args.device)
    size = settings.get('size')
    for index in tqdm(todo, desc='create_synthetic', disable=None):
        sample = dataset[index]
        image = sample['inputs'].float() / 127.5 - 1   # (3, H, W) RGB
        data_sample = sample['data_samples']
        if size is not None:
            image = torch.nn.functional.interpolate(
                image[None], size=tuple(size), mode='bilinear',
                align_corners=False)[0]
        caption = captions(index, data_sample, image)
        gen = torch.Generator().manual_seed(int(settings['seed']) + index)
        out = regenerate_images(
            parts['denoiser'], parts['vae'], parts['text_encoder'],
            parts['scheduler'], image[None].to(args.device), [caption],
            noise_timestep=settings['noise_timestep'],
            num_inference_steps=settings['num_inference_steps'],
            generators=[gen])[0]
        rgb = ((out.cpu().permute(1, 2, 0).numpy() + 1) * 127.5).round()
        rgb = np.clip(rgb, 0, 255).astype(np.uint8)
        stem = osp.join(out_dir, f'r{index:06d}')
        _write_atomic(stem + '.png', lambda p: _imwrite(cv2, p, rgb))
        _write_atomic(stem + '.txt',
                      lambda p: open(p, 'w').write(caption + '\n'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
