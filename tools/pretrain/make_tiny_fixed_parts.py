"""Write the tiny family's parts that are not trained: tokenizer, text
encoder, noise scheduler.

    python tools/pretrain/make_tiny_fixed_parts.py [OUT_DIR] [--seed 0]

``OUT_DIR`` (default ``model_zoo/unidense-tiny``) gets ``tokenizer/`` (a
word-level T5-style tokenizer over ``SyntheticScenes.vocabulary()``) and
``text_encoder/`` (a ``T5EncoderModel`` of
``configs/_base_/models/unidense_tiny_family.py``'s architecture, random
weights from ``--seed``, never trained: the DiT and UNet learn to read it).
The same seed always writes the same weights. ``scheduler/`` holds the
family's training noise schedule (``train_scheduler`` there).
"""
import argparse
import os
import os.path as osp
import sys

_REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if _REPO not in sys.path:
    sys.path.insert(1, _REPO)
_FAMILY = osp.join(_REPO, 'configs', '_base_', 'models',
                   'unidense_tiny_family.py')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('out_dir', nargs='?',
                        default=osp.join(_REPO, 'model_zoo',
                                         'unidense-tiny'))
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)

    import torch
    import transformers
    from mmengine.config import Config

    from unidense.datasets import SyntheticScenes
    from unidense.diffusion.tokenizers import make_word_tokenizer
    from unidense.models.pretrainers.export import save_pretrained_atomic
    from unidense.utils.checkpoint_io import file_sha256

    family = Config.fromfile(_FAMILY)
    tokenizer = make_word_tokenizer(SyntheticScenes.vocabulary(),
                                    model_max_length=family.text_max_length)
    arch = dict(family.text_encoder_architecture, vocab_size=len(tokenizer))
    torch.manual_seed(args.seed)
    encoder = transformers.T5EncoderModel(transformers.T5Config(**arch))
    from unidense.registry import DIFFUSION_SCHEDULERS
    import unidense.diffusion  # noqa: F401  (registers the schedulers)
    scheduler = DIFFUSION_SCHEDULERS.build(family.train_scheduler)
    # diffusers schedulers save with save_config, not save_pretrained
    scheduler.save_pretrained = scheduler.save_config
    for part, obj in (('tokenizer', tokenizer), ('text_encoder', encoder),
                      ('scheduler', scheduler)):
        out = save_pretrained_atomic(obj, osp.join(args.out_dir, part))
        for name in sorted(os.listdir(out)):
            print(f'{file_sha256(osp.join(out, name))}  {part}/{name}')


if __name__ == '__main__':
    main()
