"""Does 2-process DDP train what one process trains? (issue 28 item 6)

    python tools/analysis_tools/ddp_equivalence.py [--methods merge jointnet
        vpd_depth bae] [--iters 4] [--work-dir DIR]

For each method's tiny config: ``tools/train.py`` with batch 2B on one
process against ``tools/dist_train.sh`` with batch B on each of 2 processes
(CPU, gloo; DDP, or FSDP with ``--strategy fsdp``), ``model.train_seed=0`` (per-sample timesteps and noise that do
not depend on the process drawing them), ``sync_bn='torch'`` (BatchNorm
statistics over both processes; ``CPUSyncBatchNorm`` on CPU) and random flips
off (the data pipeline's random state is per process). Two optimisers each:

* ``config``: the config's own optimiser (AdamW, eps 1e-8);
* ``sgd``: SGD at the config's learning rate, no momentum or weight decay,
  so the weight difference is the accumulated gradient difference x lr.

Prints ``METHOD.OPTIMISER.max_abs_diff=...`` (trainable weights after
``--iters`` steps), ``METHOD.lr_sum=...`` (the sum of the learning rates of
those steps: the largest distance AdamW can move a weight, since its step
is at most ~lr per element) and writes ``results_{ddp,fsdp}.json``.
"""
import argparse
import json
import os
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(1, REPO)

METHODS = {
    'merge': 'configs/merge/pixart_depth_tiny.py',
    'merge_flux': 'configs/merge/flux_depth_tiny.py',
    'jointnet': 'configs/jointnet/sd21_rgbd_tiny.py',
    'vpd_depth': 'configs/diff2in1/vpd_nyu_depth_tiny.py',
    'bae': 'configs/diff2in1/bae_nyu_normal_tiny.py',
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--methods', nargs='+', default=list(METHODS),
                        choices=list(METHODS))
    parser.add_argument('--iters', type=int, default=4)
    parser.add_argument(
        '--strategy', default='ddp', choices=['ddp', 'fsdp', 'deepspeed'],
        help="the 2-process run's strategy config key (issue 26)")
    parser.add_argument('--work-dir', default=osp.join(
        REPO, 'work_dirs', 'ddp_equivalence'))
    return parser.parse_args(argv)


def _options(cfg, iters):
    """``--cfg-options`` shared by both runs: train_seed, synchronised
    BatchNorm, flips off, a checkpoint after ``iters`` steps and no
    validation."""
    opts = ['model.train_seed=0', 'sync_bn=torch',
            f'train_cfg.max_iters={iters}',
            f'train_cfg.val_interval={iters + 1}',
            f'default_hooks.checkpoint.interval={iters}']
    pipeline = cfg.train_dataloader.dataset.get('pipeline', [])
    opts += [f'train_dataloader.dataset.pipeline.{i}.prob=0.0'
             for i, t in enumerate(pipeline) if t['type'] == 'RandomFlip']
    return opts


def _sgd_config(config, lr, folder):
    """A config inheriting ``config`` with plain SGD at ``lr``."""
    path = osp.join(folder, 'sgd_' + osp.basename(config))
    with open(path, 'w') as f:
        f.write(f"_base_ = [{osp.join(REPO, config)!r}]\n"
                f"optim_wrapper = dict(optimizer=dict(_delete_=True, "
                f"type='SGD', lr={lr!r}, momentum=0.0, weight_decay=0.0))\n")
    return path


def _lr_sum(cfg, iters):
    """Sum of the learning rates of the first ``iters`` steps."""
    import torch
    import mmengine.optim  # noqa: F401  (registers the schedulers)

    from unidense.registry import PARAM_SCHEDULERS
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)],
                          lr=cfg.optim_wrapper.optimizer.lr)
    # the registry builds any scheduler type the config names, as the
    # runner does (iteration-based here, as the tiny configs train)
    scheds = [PARAM_SCHEDULERS.build(dict(s, optimizer=opt, by_epoch=False))
              for s in cfg.param_scheduler]
    total = 0.0
    for _ in range(iters):
        total += opt.param_groups[0]['lr']
        opt.step()
        for s in scheds:
            s.step()
    return total


def compare(method, variant, args, env):
    from mmengine.config import Config

    from tools.analysis_tools.tool_runs import free_port, run_logged
    from unidense.utils.checkpoint_io import load_checkpoint_safe
    config = METHODS[method]
    cfg = Config.fromfile(osp.join(REPO, config))
    work = osp.join(args.work_dir, f'{method}_{variant}_{args.strategy}')
    os.makedirs(work, exist_ok=True)
    if variant == 'sgd':
        config = _sgd_config(config, cfg.optim_wrapper.optimizer.lr, work)
    batch = int(cfg.train_dataloader.batch_size)
    half = max(batch // 2, 1)
    opts = _options(cfg, args.iters)
    one, two = osp.join(work, 'one'), osp.join(work, 'two')
    run_logged([sys.executable, 'tools/train.py', config, '--work-dir', one,
                '--cfg-options', f'train_dataloader.batch_size={2 * half}']
               + opts, osp.join(work, 'one.log'), env)
    run_logged(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', two,
                '--cfg-options', f'train_dataloader.batch_size={half}',
                f'strategy={args.strategy}'] + opts, osp.join(work, 'two.log'),
               dict(env, PORT=str(free_port())))
    name = f'iter_{args.iters}.pth'
    a = load_checkpoint_safe(osp.join(one, name))['state_dict']
    b = load_checkpoint_safe(osp.join(two, name))['state_dict']
    if sorted(a) != sorted(b) or not a:
        raise RuntimeError(f'{method}: different or empty checkpoints')
    worst = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    return dict(max_abs_diff=worst, batch=2 * half,
                lr_sum=_lr_sum(cfg, args.iters))


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    from tools.analysis_tools.tool_runs import tool_env
    env = tool_env(PYTHON=sys.executable, OMP_NUM_THREADS='1',
                   CUDA_VISIBLE_DEVICES='')
    results = {}
    for method in args.methods:
        for variant in ('config', 'sgd'):
            res = compare(method, variant, args, env)
            results.setdefault(method, {})[variant] = res
            print(f'{method}.{variant}.max_abs_diff={res["max_abs_diff"]:.3g}',
                  flush=True)
        print(f'{method}.lr_sum={res["lr_sum"]:.3g}', flush=True)
    with open(osp.join(args.work_dir,
                       f'results_{args.strategy}.json'), 'w') as f:
        json.dump(dict(iters=args.iters, strategy=args.strategy,
                       results=results), f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
