"""The README's main job: train and evaluate small unified models on the
pretrained tiny family, print one table against trivial baselines, and
write pictures.

    python tools/run_demo.py [--work-dir work_dirs/demo] [--quick]

1. MERGE depth: grouped converters on the frozen tiny PixArt DiT.
2. JointNet stage 1: a trainable depth copy of the frozen tiny UNet,
   depth by channel-wise inpainting (rgb2j).
3. Diff-2-in-1 (stage 1): Bae's normal head on one-step features of the
   same frozen tiny UNet.

Each is trained with ``tools/train.py`` on procedural SyntheticScenes and
tested with ``tools/test.py`` on held-out scenes (and on the 50 real NYUv2
images when ``../shared/data/realdata`` is there), next to the trivial
predictor scored by the same evaluator (mean training depth / normal map).
Pictures: RGB | ground truth | prediction panels per model, and the frozen
DiT's text-to-image samples before and after MERGE's depth training (the
same bits: the prior is untouched). Results: ``summary.json``,
``summary.md``.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(1, REPO)
NYU = osp.join(REPO, '..', 'shared', 'data', 'realdata', 'nyu_depth_v2')

# (name, config, real-NYU config, extra train options, figure, baseline)
MODELS = (
    ('MERGE depth', 'configs/merge/pixart_depth_tiny.py',
     'configs/merge/pixart_depth_tiny_nyu_real.py', [], 'depth'),
    ('JointNet rgb2j depth', 'configs/jointnet/sd21_rgbd_tiny.py',
     'configs/jointnet/sd21_rgbd_tiny_nyu_real.py',
     ['train_cfg.max_iters=300', 'train_cfg.val_interval=300',
      'param_scheduler.1.end=300', 'default_hooks.checkpoint.interval=300',
      'train_dataloader.batch_size=8'], 'depth'),
    ('Diff-2-in-1 Bae normals', 'configs/diff2in1/bae_nyu_normal_tiny.py',
     'configs/diff2in1/bae_nyu_normal_tiny_nyu_real.py',
     ['train_cfg.max_iters=300', 'train_cfg.val_interval=300',
      'param_scheduler.1.end=300', 'default_hooks.checkpoint.interval=300',
      'test_dataloader.dataset.num_samples=32'], 'normal'),
)
FIGURES = dict(depth=(('depth/abs_rel', 'AbsRel %', True),
                      ('depth/delta1', 'd1 %', False)),
               normal=(('normal/mean', 'mean angle', True),
                       ('normal/a11.25', '<11.25 %', False)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs',
                                                       'demo'))
    parser.add_argument('--quick', action='store_true',
                        help='a few iterations each (checks the plumbing)')
    return parser.parse_args(argv)


def run(cmd, log):
    """``python cmd...`` (a tools/ script), logged; the trainings run side
    by side, one core each (OMP_NUM_THREADS=1 unless set)."""
    from tools.analysis_tools.tool_runs import run_logged
    try:
        run_logged([sys.executable] + cmd, log)
    except RuntimeError as err:
        raise SystemExit(str(err)) from err


def train_and_test(name, config, nyu_config, options, work, quick):
    """Train, test on held-out scenes (panels) and on real NYU."""
    os.makedirs(work, exist_ok=True)
    if quick:
        options = [o for o in options if not o.startswith(
            ('train_cfg', 'param_scheduler', 'default_hooks'))] + [
                'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
                'default_hooks.checkpoint.interval=4']
    print(f'[demo] {name}: training {config}', flush=True)
    run(['tools/train.py', config, '--work-dir', work] +
        (['--cfg-options'] + options if options else []),
        osp.join(work, 'train.log'))
    ckpt = open(osp.join(work, 'last_checkpoint')).read().strip()
    test_opts = [o for o in options if o.startswith('test_dataloader')]
    run(['tools/test.py', config, ckpt, '--work-dir', work, '--out',
         osp.join(work, 'held_out.json'), '--show-dir', osp.join(work, 'vis')]
        + (['--cfg-options'] + test_opts if test_opts else []),
        osp.join(work, 'test.log'))
    result = dict(held_out=json.load(open(osp.join(work, 'held_out.json'))),
                  checkpoint=ckpt)
    if osp.isdir(NYU):
        run(['tools/test.py', nyu_config, ckpt, '--work-dir',
             osp.join(work, 'nyu'), '--out', osp.join(work, 'nyu.json')],
            osp.join(work, 'nyu.log'))
        result['nyu'] = json.load(open(osp.join(work, 'nyu.json')))
    return result


def baselines(config, nyu_config, kind, options):
    """The trivial predictor on the same held-out scenes and NYU images."""
    from mmengine.config import Config
    if kind == 'depth':
        from tools.analysis_tools.mean_depth_baseline import (
            mean_train_depth, score_constant_map)
        cfg = Config.fromfile(osp.join(REPO, config))
        mean = mean_train_depth(cfg, 256)
        def prefixed(metrics):   # keys as tools/test.py writes them
            return {k if '/' in k else f'depth/{k}': v
                    for k, v in metrics.items()}
        out = dict(held_out=prefixed(score_constant_map(cfg, mean)))
        if osp.isdir(NYU):
            out['nyu'] = prefixed(score_constant_map(
                Config.fromfile(osp.join(REPO, nyu_config)), mean))
        return out
    from tools.analysis_tools.eval_diff2in1_tiny import score_baseline
    name = osp.splitext(osp.basename(config))[0]
    held = int(next((o.split('=')[1] for o in options
                     if o.startswith('test_dataloader.dataset.num_samples')),
                    8))
    out = dict(held_out=score_baseline(name, held))
    if osp.isdir(NYU):
        out['nyu'] = score_baseline(name, held, f'{name}_nyu_real')
    return out


def t2i_before_after(merge_config, ckpt, path):
    """The frozen DiT's samples from the family's own weights and from the
    trained MERGE in t2i mode, side by side; True if bitwise equal."""
    import numpy as np
    import torch

    from unidense.apis import generate, init_model
    from unidense.models.pretrainers.tiny_family import (load_part,
                                                         load_text_encoder,
                                                         sampling_scheduler)
    from unidense.pipelines.text_to_image import generate_images
    from unidense.visualization import write_png
    prompts = ['a room with red walls and a gray floor, a blue sphere',
               'a dim room with green walls and a white floor, a yellow box',
               'a room with blue walls and a brown floor, a red cylinder',
               'a bright room with white walls and a gray floor']
    before = generate_images(
        load_part('transformer'), load_part('vae'), load_text_encoder(),
        sampling_scheduler(), prompts, num_inference_steps=25,
        guidance_scale=3.0, generator=torch.Generator().manual_seed(0))
    before = before.mul(255).round().clamp(0, 255).byte().permute(
        0, 2, 3, 1).numpy()
    model = init_model(osp.join(REPO, merge_config), ckpt)
    after = np.stack([o['rgb'] for o in generate(
        model, prompts, num_inference_steps=25, guidance_scale=3.0, seed=0,
        batch_size=len(prompts))])
    write_png(path, np.concatenate([np.concatenate(list(before), 1),
                                    np.concatenate(list(after), 1)], 0))
    return bool(np.array_equal(before, after))


def table(rows):
    lines = ['| model | data | figure | trained | trivial baseline |',
             '|---|---|---|---|---|']
    for name, kind, res, base in rows:
        for split, label in (('held_out', 'held-out scenes'),
                             ('nyu', 'real NYUv2 (50)')):
            if split not in res:
                continue
            for key, title, _ in FIGURES[kind]:
                lines.append(f'| {name} | {label} | {title} | '
                             f'{res[split][key]:.2f} | '
                             f'{base[split][key]:.2f} |')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    work = osp.abspath(args.work_dir)
    os.makedirs(work, exist_ok=True)
    rows, summary = [], {}
    # one single-threaded training per core at a time (MERGE on one core,
    # JointNet then Bae on the other on a 2-core machine)
    from concurrent.futures import ThreadPoolExecutor
    workers = max(1, min(len(MODELS), os.cpu_count() or 1))
    # the trivial baselines are scored meanwhile, in this process
    with ThreadPoolExecutor(max_workers=workers) as pool, \
            ThreadPoolExecutor(max_workers=1) as side:
        futures = [pool.submit(
            train_and_test, name, config, nyu_config, options,
            osp.join(work, osp.splitext(osp.basename(config))[0]),
            args.quick) for name, config, nyu_config, options, _ in MODELS]
        base_futures = [side.submit(baselines, config, nyu_config, kind,
                                    options)
                        for _, config, nyu_config, options, kind in MODELS]
        results = [f.result() for f in futures]
        bases = [f.result() for f in base_futures]
    for (name, _, _, _, kind), res, base in zip(MODELS, results, bases):
        rows.append((name, kind, res, base))
        summary[name] = dict(trained=res, baseline=base)
    same = t2i_before_after(MODELS[0][1], rows[0][2]['checkpoint'],
                            osp.join(work, 't2i_before_after.png'))
    summary['t2i_bitwise_unchanged'] = same
    summary['wall_seconds'] = round(time.time() - start, 1)
    text = table(rows)
    from unidense.utils.checkpoint_io import write_text_atomic
    write_text_atomic(osp.join(work, 'summary.json'),
                      json.dumps(summary, indent=2, default=str) + '\n')
    write_text_atomic(osp.join(work, 'summary.md'), text + '\n')
    print(text)
    print(f'text-to-image of the frozen DiT before == after depth training: '
          f'{same}  (work_dirs/demo/t2i_before_after.png: top before, '
          f'bottom after)')
    print(f'panels: {work}/*/vis, wall time {summary["wall_seconds"]} s')
    return summary


if __name__ == '__main__':
    main()
