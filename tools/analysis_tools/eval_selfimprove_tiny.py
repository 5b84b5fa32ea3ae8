"""Diff-2-in-1's claim at our scale: does stage 2 (self-improving) beat
stage 1 alone for the same number of iterations?

    python tools/analysis_tools/eval_selfimprove_tiny.py [--seeds 0 1 2]
        [--methods bae vpd_depth merge] [--work-dir DIR]

For each method and seed: the stage-1 config trained for the same total
iterations as the self-improving config (``tools/train.py``), and the
``*_selfimprove_tiny`` config (warm-up, then labelled + synthetic images
labelled by the creation copy); both tested with ``tools/test.py`` on
held-out SyntheticScenes (seed 1000, never trained on) and on the 50 real
NYUv2 images (their ``*_nyu_real`` configs) when
``../shared/data/realdata`` is there. ``--seeds`` sets ``randomness.seed``
and the training sampler's seed. The synthetic images must exist (make
them once with ``tools/create_synthetic.py`` on the selfimprove config;
the script does it when the folder is missing). Finished runs are
skipped. Prints ``name=value`` lines (mean and spread over seeds) and
writes ``results.json`` and ``results.md``.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(1, REPO)

D2 = 'configs/diff2in1/'
# name -> (stage-1 config, its extra options for the same length,
#          selfimprove config, nyu stage-1 config, nyu selfimprove config,
#          held-out size, figures (key, lower is better))
METHODS = {
    'bae': (D2 + 'bae_nyu_normal_tiny.py',
            ['train_cfg.max_iters=300', 'train_cfg.val_interval=300',
             'param_scheduler.1.end=300',
             'default_hooks.checkpoint.interval=300'],
            D2 + 'bae_nyu_normal_selfimprove_tiny.py',
            D2 + 'bae_nyu_normal_tiny_nyu_real.py',
            D2 + 'bae_nyu_normal_selfimprove_tiny_nyu_real.py', 32,
            (('normal/mean', True), ('normal/a11.25', False))),
    'vpd_depth': (D2 + 'vpd_nyu_depth_tiny.py',
                  ['train_cfg.max_iters=300', 'train_cfg.val_interval=300',
                   'param_scheduler.1.end=300',
                   'default_hooks.checkpoint.interval=300'],
                  D2 + 'vpd_nyu_depth_selfimprove_tiny.py',
                  D2 + 'vpd_nyu_depth_tiny_nyu_real.py',
                  D2 + 'vpd_nyu_depth_selfimprove_tiny_nyu_real.py', 32,
                  (('depth/abs_rel', True), ('depth/delta1', False))),
    'merge': ('configs/merge/pixart_depth_tiny.py', [],
              'configs/merge/pixart_depth_selfimprove_tiny.py',
              'configs/merge/pixart_depth_tiny_nyu_real.py',
              'configs/merge/pixart_depth_selfimprove_tiny_nyu_real.py', 64,
              (('depth/abs_rel', True), ('depth/delta1', False))),
}
NYU = osp.join(REPO, '..', 'shared', 'data', 'realdata', 'nyu_depth_v2')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--methods', nargs='+', default=list(METHODS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--work-dir', default=osp.join(
        REPO, 'work_dirs', 'selfimprove_tiny_eval'))
    return parser.parse_args(argv)


def run(cmd, log):
    """``python cmd...`` (a tools/ script), logged."""
    from tools.analysis_tools.tool_runs import run_logged
    run_logged([sys.executable] + cmd, log)


def ensure_synthetic(config, work_dir):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, config))
    folder = osp.join(REPO, cfg.synthetic_data.out_dir)
    if not (osp.isdir(folder) and any(
            f.endswith('.txt') for f in os.listdir(folder))):
        run(['tools/create_synthetic.py', config],
            osp.join(work_dir, f'create_{osp.basename(folder)}.log'))


def train_and_test(method, variant, seed, args):
    """{'held_out': metrics, 'nyu': metrics or None} (cached)."""
    stage1, opts, si, nyu1, nyu_si, held_out, _ = METHODS[method]
    work = osp.join(args.work_dir, f'{method}_{variant}_s{seed}')
    out = osp.join(work, 'results.json')
    if osp.isfile(out):
        return json.load(open(out))
    os.makedirs(work, exist_ok=True)
    config = si if variant == 'stage2' else stage1
    seeds = [f'randomness.seed={seed}',
             f'train_dataloader.batch_sampler.seed={seed}'
             if variant == 'stage2' else
             f'train_dataloader.sampler.seed={seed}']
    extra = [] if variant == 'stage2' else list(opts)
    run(['tools/train.py', config, '--work-dir', work, '--cfg-options'] +
        extra + seeds, osp.join(work, 'train.log'))
    ckpt = open(osp.join(work, 'last_checkpoint')).read().strip()
    held = osp.join(work, 'held_out.json')
    run(['tools/test.py', config, ckpt, '--work-dir', work, '--out', held,
         '--cfg-options', f'test_dataloader.dataset.num_samples={held_out}'],
        osp.join(work, 'test.log'))
    result = dict(held_out=json.load(open(held)), nyu=None)
    if osp.isdir(NYU):
        nyu = osp.join(work, 'nyu.json')
        run(['tools/test.py', nyu_si if variant == 'stage2' else nyu1, ckpt,
             '--work-dir', osp.join(work, 'nyu'), '--out', nyu],
            osp.join(work, 'nyu.log'))
        result['nyu'] = json.load(open(nyu))
    with open(out, 'w') as f:
        json.dump(result, f, indent=1)
    return result


def test_exploitation_copy(method, seed, args):
    """Held-out metrics of θ_E (the trained copy) of a stage-2 run, to
    tell the EMA's lag from the synthetic data's effect (cached)."""
    _, _, si, _, _, held_out, _ = METHODS[method]
    work = osp.join(args.work_dir, f'{method}_stage2_s{seed}')
    out = osp.join(work, 'held_out_theta_e.json')
    if not osp.isfile(out):
        ckpt = open(osp.join(work, 'last_checkpoint')).read().strip()
        run(['tools/test.py', si, ckpt, '--work-dir',
             osp.join(work, 'theta_e'), '--out', out, '--cfg-options',
             f'test_dataloader.dataset.num_samples={held_out}',
             'model.eval_with=exploitation'],
            osp.join(work, 'test_theta_e.log'))
    return json.load(open(out))


def summarise(values):
    if not values:
        return None
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, spread


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    results, rows = {}, []
    for method in args.methods:
        ensure_synthetic(METHODS[method][2], args.work_dir)
        figures = METHODS[method][6]
        for seed in args.seeds:
            for variant in ('stage1', 'stage2'):
                res = train_and_test(method, variant, seed, args)
                results.setdefault(method, {}).setdefault(variant, {})[
                    seed] = res
            results[method].setdefault('stage2_theta_e', {})[seed] = dict(
                held_out=test_exploitation_copy(method, seed, args))
        for split in ('held_out', 'nyu'):
            for key, lower in figures:
                cells = {}
                for variant in ('stage1', 'stage2', 'stage2_theta_e'):
                    vals = [r[split][key] for r in
                            results[method][variant].values()
                            if r.get(split) and key in r[split]]
                    cells[variant] = (summarise(vals), vals)
                if cells['stage1'][0] is None:
                    continue
                (m1, s1), v1 = cells['stage1']
                (m2, s2), v2 = cells['stage2']
                better = (m2 < m1) if lower else (m2 > m1)
                name = f'{method}.{split}.{key}'
                print(f'{name}.stage1={m1:.3f}+-{s1:.3f}')
                print(f'{name}.stage2={m2:.3f}+-{s2:.3f}')
                print(f'{name}.stage2_better={better}')
                theta_e = '-'
                if cells['stage2_theta_e'][0] is not None:
                    (m3, s3), v3 = cells['stage2_theta_e']
                    print(f'{name}.stage2_theta_e={m3:.3f}+-{s3:.3f}')
                    theta_e = (f'{m3:.2f} ± {s3:.2f} '
                               f'({", ".join(f"{v:.2f}" for v in v3)})')
                rows.append(
                    f'| {method} | {split} | {key} | {m1:.2f} ± {s1:.2f} '
                    f'({", ".join(f"{v:.2f}" for v in v1)}) | {m2:.2f} ± '
                    f'{s2:.2f} ({", ".join(f"{v:.2f}" for v in v2)}) | '
                    f'{theta_e} | {"yes" if better else "no"} |')
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    table = ['| method | test set | figure | stage 1 alone (per seed) | '
             'stage 1 + 2, θ_C (per seed) | stage 1 + 2, θ_E | '
             'θ_C better than stage 1 |',
             '|---|---|---|---|---|---|---|'] + rows
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write('\n'.join(table) + '\n')
    print('\n'.join(table))
    return 0


if __name__ == '__main__':
    sys.exit(main())
