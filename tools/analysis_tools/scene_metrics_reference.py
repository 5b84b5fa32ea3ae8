"""The tiny generation metrics on real scenes: the ceiling a generator's
figures are read against.

    python tools/analysis_tools/scene_metrics_reference.py [--seed 2000]
        [--num 256] [--config configs/_base_/datasets/scenes_prompts_tiny.py]

Renders ``--num`` SyntheticScenes of another seed than the held-out ones
and scores them with the evaluator the tiny generation configs use
(``gen_tiny_test_evaluator``: random-conv Fréchet distance to the held-out
scenes, Inception Score and CLIP score on the scene classifier), as if a
generator had drawn them for their own captions; then the CLIP score once
more with the captions shifted by one scene (images with the wrong
prompts). Prints one JSON line per case.
"""
import argparse
import json
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(1, REPO)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=osp.join(
        REPO, 'configs', '_base_', 'datasets', 'scenes_prompts_tiny.py'))
    parser.add_argument('--seed', type=int, default=2000,
                        help='scenes scored (the held-out reference is '
                        'seed 1000)')
    parser.add_argument('--num', type=int, default=256)
    parser.add_argument('--batch', type=int, default=32)
    return parser.parse_args(argv)


def score(evaluator_cfgs, images, captions, batch):
    """Each metric of ``evaluator_cfgs`` over (N, 3, H, W) uint8 images
    generated for ``captions``."""
    from unidense.registry import METRICS
    out = {}
    for cfg in evaluator_cfgs:
        metric = METRICS.build(cfg)
        for start in range(0, len(images), batch):
            metric.process(None, [
                dict(pred_img=img, caption=cap) for img, cap in zip(
                    images[start:start + batch],
                    captions[start:start + batch])])
        out.update(metric.evaluate(len(images)))
    return out


def main(argv=None):
    args = parse_args(argv)
    import numpy as np
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import unidense.models  # noqa: F401  (registers the classifier parts)
    from unidense.datasets.synthetic_scenes import SyntheticScenes
    init_default_scope('unidense')
    cfg = Config.fromfile(args.config)
    held_out = cfg.gen_tiny_held_out
    scenes = SyntheticScenes(num_samples=args.num,
                             img_size=held_out.img_size, seed=args.seed,
                             max_objects=held_out.max_objects)
    rendered = [scenes.render(i) for i in range(args.num)]
    images = torch.from_numpy(np.stack([r['img'] for r in rendered])
                              ).permute(0, 3, 1, 2).contiguous()
    captions = [r['caption'] for r in rendered]
    results = []
    own = score(cfg.gen_tiny_test_evaluator, images, captions, args.batch)
    results.append(dict(case=f'real scenes (seed {args.seed}), own '
                        'captions', **own))
    clip = [c for c in cfg.gen_tiny_test_evaluator
            if c['type'] == 'CLIPScoreMetric']
    shifted = captions[1:] + captions[:1]
    results.append(dict(case='the same, captions shifted by one scene',
                        **score(clip, images, shifted, args.batch)))
    for row in results:
        print(json.dumps(row))
    return results


if __name__ == '__main__':
    main()
