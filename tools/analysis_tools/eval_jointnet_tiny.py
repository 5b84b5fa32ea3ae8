"""Measure a trained tiny JointNet (stage 1) and draw its pictures.

    python tools/analysis_tools/eval_jointnet_tiny.py CKPT [--config CFG]
        [--num-samples 32] [--steps 20] [--guidance 3.0]
        [--out-dir work_dirs/jointnet_eval/report]

Prints one ``name=value`` line per figure and writes ``metrics.json`` and
PNGs into ``--out-dir``:

* ``joint/*``: RGB-D consistency of joint samples. JointNet generates RGB
  and depth together for held-out captions; the same model then estimates
  the depth of its generated RGB by channel-wise inpainting (rgb2j). AbsRel
  / delta1 of the generated depth against that estimate, after a least-
  squares scale and shift in depth space. Both are relative maps in [0, 1]
  (0 near), compared as distances ``1 + 2 d`` (so that AbsRel never divides
  by zero); ``joint/shuffled_*`` pairs each sample's depth with another
  sample's estimate: the figure a depth unrelated to the image scores;
  ``joint/pearson`` is the per-sample correlation of the two maps.
* ``samples.png`` (RGB over colour-mapped depth, 8 samples),
  ``panorama.png`` (a 64x256 wrap-around RGB-D panorama with tiled joint
  denoising, the settings of sd21_rgbd_panorama_tiny.py) and
  ``panorama_mesh.png`` (its cylindrical mesh's vertices rendered from
  above and behind the viewer, coloured by the RGB), ``panorama.ply``.

rgb2j depth on held-out scenes and real NYU images is measured with
``tools/test.py`` (configs/jointnet/README.md gives the commands).
"""
import argparse
import json
import os
import os.path as osp
import sys

_REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if _REPO not in sys.path:
    sys.path.insert(1, _REPO)

PROMPT_SEED = 2000      # held-out captions, as the tiny family's evaluation


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoint', nargs='?')
    parser.add_argument('--config', default=osp.join(
        _REPO, 'configs', 'jointnet', 'sd21_rgbd_tiny.py'))
    parser.add_argument('--num-samples', type=int, default=32)
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--depth-steps', type=int, default=10)
    parser.add_argument('--guidance', type=float, default=3.0)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--out-dir', default=osp.join(
        _REPO, 'work_dirs', 'jointnet_eval', 'report'))
    return parser.parse_args(argv)


def as_distance(depth):
    """Relative depth in [0, 1] (0 near) -> distances 1..3."""
    return 1.0 + 2.0 * depth


def consistency(generated, estimated):
    """Mean AbsRel (%) and delta1 (%) of ``generated`` (N, H, W) against
    ``estimated`` (N, H, W), least-squares aligned per sample."""
    import numpy as np

    from unidense.evaluation.functional.depth_alignment import \
        align_depth_least_squares
    rel, d1 = [], []
    for g, e in zip(generated, estimated):
        gt = as_distance(e.astype(np.float64))
        aligned = np.clip(align_depth_least_squares(
            as_distance(g.astype(np.float64)), gt)[0], 1e-3, None)
        rel.append(np.mean(np.abs(aligned - gt) / gt))
        d1.append(np.mean(np.maximum(aligned / gt, gt / aligned) < 1.25))
    return 100 * float(np.mean(rel)), 100 * float(np.mean(d1))


def correlation(generated, estimated):
    """Mean per-sample Pearson correlation of two (N, H, W) depth sets
    (scale- and shift-free; 0 for unrelated maps)."""
    import numpy as np
    values = []
    for g, e in zip(generated, estimated):
        g, e = g.ravel() - g.mean(), e.ravel() - e.mean()
        den = np.sqrt((g * g).sum() * (e * e).sum())
        values.append(float((g * e).sum() / den) if den > 0 else 0.0)
    return float(np.mean(values))


def joint_samples(model, prompts, args):
    """Generated RGB (N, H, W, 3) uint8, depth (N, H, W) and the model's
    rgb2j estimate of the generated RGB (N, H, W)."""
    import numpy as np
    import torch
    rgbs, depths, estimates = [], [], []
    gen = torch.Generator().manual_seed(0)
    for i in range(0, len(prompts), args.batch_size):
        out = model.generate(prompts[i:i + args.batch_size],
                             num_inference_steps=args.steps,
                             guidance_scale=args.guidance, generator=gen)
        est = model.estimate(out['rgb'] * 2 - 1,
                             num_inference_steps=args.depth_steps,
                             noise_seeds=list(range(i, i + len(out['rgb']))))
        rgbs.append(out['rgb'])
        depths.append(out['depth'][:, 0])
        estimates.append(est['depth'][:, 0])
    rgb = torch.cat(rgbs).clamp(0, 1).mul(255).round().byte()
    return (rgb.permute(0, 2, 3, 1).numpy(), torch.cat(depths).numpy(),
            torch.cat(estimates).numpy().astype(np.float32))


def sample_grid(rgb, depth, path, cols=8):
    """RGB row over colour-mapped depth row, ``cols`` samples."""
    import numpy as np

    from unidense.visualization import colorize_depth, write_png
    top = np.concatenate(list(rgb[:cols]), 1)
    bottom = np.concatenate([colorize_depth(d) for d in depth[:cols]], 1)
    write_png(path, np.concatenate([top, bottom], 0))


def render_points(points, colors, path, size=(256, 512), tilt_deg=35.0):
    """A z-buffered point render of the panorama mesh's vertices from
    above and behind the viewer (so the depth is visible as geometry:
    near walls in front, far ones at the back), coloured by the RGB. No
    GUI or renderer needed."""
    import numpy as np

    from unidense.visualization import write_png
    h, w = size
    # orthographic, looking down at ``tilt_deg``: far surfaces (large z)
    # move up the picture, the floor (y down) spreads below the walls
    t = np.deg2rad(tilt_deg)
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    sx, sy = x, y * np.cos(t) - z * np.sin(t)
    scale = 0.95 * min(w / max(np.ptp(sx), 1e-6), h / max(np.ptp(sy), 1e-6))
    u = ((sx - sx.min()) * scale + (w - np.ptp(sx) * scale) / 2).astype(int)
    v = ((sy - sy.min()) * scale + (h - np.ptp(sy) * scale) / 2).astype(int)
    image = np.full((h, w, 3), 255, np.uint8)
    for i in np.argsort(-z):                          # far first
        image[max(v[i] - 1, 0):v[i] + 2, max(u[i] - 1, 0):u[i] + 2] = \
            colors[i]
    write_png(path, image)


def panorama(model, args, cfg):
    """The tiny panorama config's canvas: RGB (H, W, 3) uint8, depth."""
    import torch
    sampling = dict(prompts='a room with white walls, a red box and a '
                    'blue sphere', height=64, width=256,
                    num_inference_steps=args.steps,
                    guidance_scale=args.guidance,
                    tiling=dict(tile_size=16, stride=8, ramp=2, wrap=True))
    out = model.sample(generator=torch.Generator().manual_seed(0),
                       **sampling)
    rgb = out['rgb'][0].clamp(0, 1).mul(255).round().byte()
    return rgb.permute(1, 2, 0).numpy(), out['depth'][0, 0].numpy()


def write_panorama(model, args, cfg, report):
    import numpy as np

    from unidense.pipelines.rgbd_export import (panorama_mesh_faces,
                                                panorama_to_points,
                                                write_ply)
    from unidense.visualization import colorize_depth, write_png
    rgb, depth = panorama(model, args, cfg)
    write_png(osp.join(args.out_dir, 'panorama.png'),
              np.concatenate([rgb, colorize_depth(depth)], 0))
    points, colors = panorama_to_points(rgb, depth, span_deg=180.0,
                                        scale=2.0, shift=1.0)
    write_ply(osp.join(args.out_dir, 'panorama.ply'), points, colors,
              panorama_mesh_faces(*depth.shape))
    render_points(points, colors, osp.join(args.out_dir,
                                           'panorama_mesh.png'))
    report['panorama/depth_range'] = float(np.ptp(depth))


def main(argv=None):
    args = parse_args(argv)
    import numpy as np

    from unidense.apis import init_model
    from unidense.datasets import SyntheticScenes
    os.makedirs(args.out_dir, exist_ok=True)
    model = init_model(args.config, args.checkpoint)
    scenes = SyntheticScenes(num_samples=args.num_samples, img_size=64,
                             seed=PROMPT_SEED, max_objects=4)
    prompts = [scenes.render(i)['caption'] for i in range(args.num_samples)]
    rgb, depth, estimate = joint_samples(model, prompts, args)
    report = {}
    report['joint/abs_rel'], report['joint/delta1'] = consistency(
        depth, estimate)
    shuffled = np.roll(estimate, 1, axis=0)
    report['joint/shuffled_abs_rel'], report['joint/shuffled_delta1'] = \
        consistency(depth, shuffled)
    report['joint/pearson'] = correlation(depth, estimate)
    report['joint/shuffled_pearson'] = correlation(depth, shuffled)
    sample_grid(rgb, depth, osp.join(args.out_dir, 'samples.png'))
    write_panorama(model, args, model.cfg, report)
    for key, value in report.items():
        print(f'{key}={value:.4f}')
    from unidense.utils.checkpoint_io import write_text_atomic
    write_text_atomic(osp.join(args.out_dir, 'metrics.json'),
                      json.dumps(report, indent=2) + '\n')
    return report


if __name__ == '__main__':
    main()
