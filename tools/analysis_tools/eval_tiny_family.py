"""Measure the tiny family in model_zoo/unidense-tiny and draw sample grids.

    python tools/analysis_tools/eval_tiny_family.py [--parts vae transformer unet]
        [--zoo model_zoo/unidense-tiny] [--num-prompts 200] [--num-fid 500]
        [--steps 25] [--guidance 3.0] [--random-control] [--out-dir DIR]

Prints one ``name=value`` line per figure and writes ``metrics.json`` and
PNG grids into ``--out-dir`` (default ``work_dirs/tiny_family_eval``):

* vae: RGB PSNR on held-out scenes; AbsRel / delta1 of decode(encode(depth))
  after least-squares alignment, next to the mean-training-depth baseline;
  mean angle of decode(encode(normals)).
* transformer / unet: prompt following (the caption's wall and floor
  colours are what a nearest-centroid probe reads in the wall / floor
  regions, and, ``prompt_following_classifier_*``, what the shipped scene
  classifier reads; the accuracy of each on real held-out renders and on
  the same renders through the VAE, decode(encode(x)), is printed as its
  ceiling; ``confusion.json`` says where each denoiser's misses go, named
  colour -> what the classifier read, and the three most frequent misses
  are printed)
  on ``--num-prompts`` seeded held-out captions, and a Fréchet distance of
  random-conv features (not comparable to published FIDs) of
  ``--num-fid`` samples against held-out renders, next to real-vs-real.
  ``--random-control`` also measures the same denoiser with random weights.
"""
import argparse
import json
import os
import os.path as osp
import sys

_REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if _REPO not in sys.path:
    sys.path.insert(1, _REPO)

HELD_OUT_SEED = 1000      # scenes no part was trained on (train seed 0)
PROMPT_SEED = 2000
PROBE_SEED = 3000
REAL_SEED = 4000


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--parts', nargs='+',
                        default=['vae', 'transformer', 'unet'])
    parser.add_argument('--zoo', default=osp.join(_REPO, 'model_zoo',
                                                  'unidense-tiny'))
    parser.add_argument('--num-prompts', type=int, default=200)
    parser.add_argument('--num-fid', type=int, default=500)
    parser.add_argument('--num-vae', type=int, default=256)
    parser.add_argument('--steps', type=int, default=25)
    parser.add_argument('--guidance', type=float, default=3.0)
    parser.add_argument('--batch-size', type=int, default=50)
    parser.add_argument('--random-control', action='store_true')
    parser.add_argument('--write-reference', metavar='NPZ',
                        help='also store the small seeded outputs the tests '
                        'compare against (tests/data/unidense_tiny_'
                        'reference.npz)')
    parser.add_argument('--out-dir', default=osp.join(
        _REPO, 'work_dirs', 'tiny_family_eval'))
    return parser.parse_args(argv)


def renders(num, seed):
    from unidense.datasets import SyntheticScenes
    ds = SyntheticScenes(num_samples=num, img_size=64, seed=seed,
                         max_objects=4)
    return [ds.render(i) for i in range(num)]


def save_grid(images, path, cols=8):
    """(N, H, W, 3) uint8 -> one PNG grid."""
    import numpy as np
    from PIL import Image
    cols = min(cols, len(images))
    rows = [np.concatenate(list(images[i:i + cols]), 1)
            for i in range(0, len(images) - cols + 1, cols)]
    Image.fromarray(np.concatenate(rows, 0)).save(path)


def eval_vae(args, report):
    import numpy as np

    from unidense.diffusion import LatentCodec
    from unidense.models.pretrainers.tiny_family import (load_part,
                                                         vae_round_trip)
    codec = LatentCodec(load_part('vae', args.zoo))
    held_out = renders(args.num_vae, HELD_OUT_SEED)
    mean_depth = np.mean([r['gt_depth'] for r in renders(256, 0)], 0)
    for key, value in vae_round_trip(codec, held_out, mean_depth).items():
        report[f'vae/{key}'] = value
    import torch
    img = torch.stack([torch.from_numpy(r['img']).permute(2, 0, 1)
                       for r in held_out[:16]]).float() / 127.5 - 1
    rec = codec.decode_rgb(codec.encode_rgb(img))
    pair = torch.cat([img, rec]).add(1).mul(127.5).round().clamp(0, 255)
    save_grid(pair.byte().permute(0, 2, 3, 1).numpy(),
              osp.join(args.out_dir, 'vae_reconstructions.png'))


def round_trip_images(vae, images, batch_size=50):
    """(N, H, W, 3) uint8 -> decode(encode(images)), the same layout: what
    a perfect denoiser's latents would look like through this VAE."""
    import torch

    from unidense.diffusion import LatentCodec
    codec = LatentCodec(vae)
    out = []
    for i in range(0, len(images), batch_size):
        x = torch.from_numpy(images[i:i + batch_size]).permute(
            0, 3, 1, 2).float() / 127.5 - 1
        with torch.no_grad():
            rec = codec.decode_rgb(codec.encode_rgb(x))
        out.append(rec.add(1).mul(127.5).round().clamp(0, 255).byte())
    return torch.cat(out).permute(0, 2, 3, 1).numpy()


def generate(denoiser, parts, prompts, args, seed=0):
    import torch

    from unidense.pipelines.text_to_image import generate_images
    vae, text_encoder, scheduler = parts
    out = []
    gen = torch.Generator().manual_seed(seed)
    for i in range(0, len(prompts), args.batch_size):
        images = generate_images(
            denoiser, vae, text_encoder, scheduler,
            prompts[i:i + args.batch_size],
            num_inference_steps=args.steps, guidance_scale=args.guidance,
            generator=gen)
        out.append(images.mul(255).round().clamp(0, 255).byte())
    return torch.cat(out).permute(0, 2, 3, 1).numpy()


def features(images, extractor):
    import torch
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    return extractor(x).numpy()


def classifier_accuracy(net, images, scenes, confusion=None):
    """Fractions of (N, H, W, 3) uint8 ``images`` whose wall / floor colour
    (``walls``, ``floor``, ``both``) the scene classifier reads as the
    ``scenes`` (results ``scene`` entries) name them. ``confusion``, a
    dict, receives ``{attribute: {named: {read: count}}}`` (where the
    misses go)."""
    import numpy as np
    import torch
    read = net.read(torch.from_numpy(np.asarray(images)).permute(0, 3, 1, 2),
                    ('walls', 'floor'))
    hits = {key: np.array([got == scene[key] for got, scene in
                           zip(read[key], scenes)])
            for key in ('walls', 'floor')}
    if confusion is not None:
        for key in ('walls', 'floor'):
            table = confusion.setdefault(key, {})
            for got, scene in zip(read[key], scenes):
                row = table.setdefault(scene[key], {})
                row[got] = row.get(got, 0) + 1
    return dict(walls=float(hits['walls'].mean()),
                floor=float(hits['floor'].mean()),
                both=float((hits['walls'] & hits['floor']).mean()))


def worst_confusions(confusion, top=3):
    """'named->read count' of the ``top`` most frequent misses."""
    misses = [(count, f'{key} {named}->{got}')
              for key, table in confusion.items()
              for named, row in table.items()
              for got, count in row.items() if got != named]
    return ', '.join(f'{what} {count}'
                     for count, what in sorted(misses, reverse=True)[:top])


def eval_denoiser(args, name, report, shared, parts, confusions):
    import torch
    from tqdm import tqdm

    from unidense.evaluation.functional.frechet import frechet_distance
    from unidense.models.pretrainers.tiny_family import load_part
    n = max(args.num_prompts, args.num_fid)
    prompt_scenes, probe, classifier, extractor, real_feats, floor = shared
    prompts = [r['caption'] for r in prompt_scenes[:n]]
    named = [r['scene'] for r in prompt_scenes[:n]]
    variants = [('', False)] + ([('random_', True)]
                                if args.random_control else [])
    for prefix, random_init in tqdm(variants, desc=name):
        # the control's weights must not depend on which parts ran first
        torch.manual_seed(0)
        denoiser = load_part(name, args.zoo, random_init=random_init)
        images = generate(denoiser, parts, prompts, args)
        acc = probe.accuracy(images[:args.num_prompts],
                             named[:args.num_prompts])
        for key, value in acc.items():
            report[f'{name}/{prefix}prompt_following_{key}'] = 100 * value
        confusion = {}
        acc = classifier_accuracy(classifier, images[:args.num_prompts],
                                  named[:args.num_prompts], confusion)
        for key, value in acc.items():
            report[f'{name}/{prefix}prompt_following_classifier_{key}'] = \
                100 * value
        confusions[f'{prefix}{name}'] = confusion
        print(f'{prefix}{name}: most frequent misses (classifier): '
              f'{worst_confusions(confusion)}')
        fd = frechet_distance(features(images[:args.num_fid], extractor),
                              real_feats)
        report[f'{name}/{prefix}frechet_random_conv'] = fd
        save_grid(images[:32], osp.join(args.out_dir,
                                        f'{prefix}samples_{name}.png'))
        if not prefix:
            with open(osp.join(args.out_dir, f'prompts_{name}.txt'),
                      'w') as f:
                f.write('\n'.join(prompts[:32]) + '\n')
    report[f'{name}/real_vs_real_frechet_random_conv'] = floor


def shared_generation_refs(args, report, vae):
    import numpy as np

    from unidense.evaluation.functional.frechet import (RandomConvFeatures,
                                                        frechet_distance)
    from unidense.evaluation.functional.scene_colors import SceneColorProbe
    from unidense.models.pretrainers.scene_classifier import \
        SceneAttributeNet
    n = max(args.num_prompts, args.num_fid)
    prompt_scenes = renders(n, PROMPT_SEED)
    probe_scenes = renders(2000, PROBE_SEED)
    probe = SceneColorProbe(probe_scenes, [r['scene'] for r in probe_scenes])
    classifier = SceneAttributeNet.load_frozen(
        osp.join(args.zoo, 'scene_classifier'))
    real = np.stack([r['img'] for r in prompt_scenes[:args.num_prompts]])
    named = [r['scene'] for r in prompt_scenes[:args.num_prompts]]
    # the judges' ceilings: real renders, and real renders through the VAE
    # (no denoiser's samples can be decoded better than those)
    for who, images in (('real', real),
                        ('vae_round_trip', round_trip_images(vae, real))):
        for key, value in probe.accuracy(list(images), named).items():
            report[f'probe/{who}_prompt_following_{key}'] = 100 * value
        for key, value in classifier_accuracy(classifier, images,
                                              named).items():
            report[f'probe/{who}_prompt_following_classifier_{key}'] = \
                100 * value
    extractor = RandomConvFeatures()
    real_feats = features(np.stack([r['img'] for r in renders(
        args.num_fid, REAL_SEED)]), extractor)
    held = np.stack([r['img'] for r in prompt_scenes[:args.num_fid]])
    floor = frechet_distance(features(held, extractor), real_feats)
    save_grid(held[:32], osp.join(args.out_dir, 'real_scenes.png'))
    return prompt_scenes, probe, classifier, extractor, real_feats, floor


def main(argv=None):
    args = parse_args(argv)
    import torch
    torch.manual_seed(0)
    os.makedirs(args.out_dir, exist_ok=True)
    report = {}
    if 'vae' in args.parts:
        eval_vae(args, report)
    denoisers = [p for p in args.parts if p in ('transformer', 'unet')]
    if denoisers:
        from unidense.models.pretrainers.tiny_family import (
            load_part, load_text_encoder, sampling_scheduler)
        # (vae, text encoder, sampler) shared by every denoiser
        parts = (load_part('vae', args.zoo), load_text_encoder(args.zoo),
                 sampling_scheduler(args.zoo))
        shared = shared_generation_refs(args, report, parts[0])
        confusions = {}
        for name in denoisers:
            eval_denoiser(args, name, report, shared, parts, confusions)
        from unidense.utils.checkpoint_io import write_text_atomic
        # named colour -> what the classifier read, per denoiser
        write_text_atomic(osp.join(args.out_dir, 'confusion.json'),
                          json.dumps(confusions, indent=2) + '\n')
    if args.write_reference:
        import numpy as np

        from unidense.models.pretrainers.tiny_family import \
            reference_outputs
        arrays = reference_outputs(args.zoo, args.parts)
        tmp = args.write_reference + '.tmp.npz'
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, args.write_reference)
        print(f'reference arrays {sorted(arrays)} -> {args.write_reference}')
    for key, value in report.items():
        print(f'{key}={value:.4f}')
    from unidense.utils.checkpoint_io import write_text_atomic
    write_text_atomic(osp.join(args.out_dir, 'metrics.json'),
                      json.dumps(report, indent=2) + '\n')


if __name__ == '__main__':
    main()
