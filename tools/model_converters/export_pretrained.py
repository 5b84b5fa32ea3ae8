"""Export a part trained by a ``configs/pretrain`` config as a diffusers
folder (``config.json`` + ``diffusion_pytorch_model.safetensors``).

    python tools/model_converters/export_pretrained.py CONFIG CKPT OUT_DIR
        [--no-ema] [--num-images 256]

``OUT_DIR`` is the part's folder, e.g. ``model_zoo/unidense-tiny/vae``. A
``VAEPretrainer`` checkpoint is saved with ``scaling_factor`` measured on
``--num-images`` training images (1 / std of their latents); a
``TextToImagePretrainer`` checkpoint saves its EMA denoiser unless
``--no-ema``; a ``SceneClassifierPretrainer`` its ``SceneAttributeNet``.
The folder is written atomically (a temporary folder renamed
into place). The sha256 of every file written is printed.
"""
import argparse
import os
import os.path as osp
import sys

_REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if _REPO not in sys.path:
    sys.path.insert(1, _REPO)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out_dir')
    parser.add_argument('--no-ema', action='store_true',
                        help='export the raw denoiser instead of its EMA')
    parser.add_argument('--num-images', type=int, default=256,
                        help='training images that set the VAE '
                        'scaling_factor')
    parser.add_argument('--trust-checkpoint', action='store_true')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import torch
    from mmengine.config import Config

    from unidense.models.pretrainers import (SceneClassifierPretrainer,
                                             TextToImagePretrainer,
                                             VAEPretrainer)
    from unidense.registry import DATASETS, MODELS
    from unidense.utils.checkpoint_io import (extract_state_dict,
                                              file_sha256,
                                              load_checkpoint_safe)
    from unidense.utils.trainable_state import missing_trainable_keys

    import unidense.models  # noqa: F401  (registers components)
    cfg = Config.fromfile(args.config)
    model = MODELS.build(cfg.model)
    state = extract_state_dict(load_checkpoint_safe(
        args.checkpoint, trust_checkpoint=args.trust_checkpoint))
    missing = missing_trainable_keys(model, state.keys())
    if missing:
        raise KeyError(f'{args.checkpoint} lacks {len(missing)} trainable '
                       f'weights of {cfg.model.type}, e.g. {missing[:3]}')
    model.load_state_dict(state, strict=False)
    model.eval()
    if isinstance(model, VAEPretrainer):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        n = min(args.num_images, len(dataset))
        images = torch.stack([dataset[i]['inputs'] for i in range(n)])
        images = images.float() / 127.5 - 1
        out = model.export(args.out_dir, images)
        print(f'scaling_factor={model.vae.config.scaling_factor:.6f}')
    elif isinstance(model, TextToImagePretrainer):
        out = model.export(args.out_dir, use_ema=not args.no_ema)
    elif isinstance(model, SceneClassifierPretrainer):
        out = model.export(args.out_dir)
    else:
        raise TypeError(f'{cfg.model.type} is not a pretrainer '
                        '(VAEPretrainer, TextToImagePretrainer, '
                        'SceneClassifierPretrainer)')
    for name in sorted(os.listdir(out)):
        path = osp.join(out, name)
        print(f'{file_sha256(path)}  {path}')


if __name__ == '__main__':
    main()
