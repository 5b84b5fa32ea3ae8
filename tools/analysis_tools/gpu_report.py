"""The checks that need a GPU, in one run: what docs/distributed.md records.

    python tools/analysis_tools/gpu_report.py [--config configs/merge/pixart_depth.py]
        [--size 512 512] [--batch 4] [--repeats 5] [--sections full,strategies,adamw8bit]
        [--out DIR]

``full``: the full-size config, built from its architecture with random
weights straight on the GPU (``meta_device_build('cuda')``; no published
weights needed, memory and speed do not depend on them), trains on
SyntheticScenes images of ``--size``. One model, settings in turn: fp32;
bf16 / fp16 autocast; frozen weights in bf16 (``cast_frozen_parameters``);
activation checkpointing; 8-bit AdamW; FSDP over a 1-process NCCL group.
For each: peak allocated CUDA memory of a training step after the first
(which creates the optimizer state), memory_plan's estimate of the same
setting, and the median step time with its ratio to fp32, all from this run.

``strategies``: the tiny MERGE through ``tools/dist_train.sh CONFIG 1`` (NCCL)
with ``strategy=ddp|fsdp|deepspeed`` for 4 iterations; final weights
compared, the FSDP checkpoint scored by single-process ``tools/test.py``.

``adamw8bit``: the tiny MERGE trained ``--tiny-iters`` iterations with AdamW
and with AdamW8bit (bitsandbytes) on the GPU; held-out AbsRel of both.

Each result is printed as a JSON line as soon as it exists and appended to
``--out``/gpu_report.jsonl, so a section that fails loses nothing before it.
Without CUDA, ``full`` runs on the CPU (``--device cpu``, a tiny config) to
check this script, with LiveTensorMemory for the peak.
"""
import argparse
import gc
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
import traceback
from types import SimpleNamespace

os.environ.setdefault('HF_HUB_OFFLINE', '1')
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(1, REPO)

import torch  # noqa: E402

GIB = 2.0**30
TINY = 'configs/merge/pixart_depth_tiny.py'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default='configs/merge/pixart_depth.py')
    parser.add_argument('--size', type=int, nargs=2, default=[512, 512])
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--sections', default='full,strategies,adamw8bit')
    parser.add_argument('--settings', default='',
                        help='semicolon-separated subset of the full settings')
    parser.add_argument('--tiny-iters', type=int, default=300)
    parser.add_argument('--device', default=None)
    parser.add_argument('--stand-in-text', action='store_true',
                        help='frozen text encoders return zeros (memory_plan'
                        "'s stand-in; a random-weight build's ByteTokenizer "
                        'ids can exceed a tiny vocabulary)')
    parser.add_argument('--out', default='work_dirs/gpu_report')
    return parser.parse_args(argv)


class Report:
    """Prints and appends one JSON line per result."""

    def __init__(self, out_dir):
        os.makedirs(out_dir, exist_ok=True)
        self.path = osp.join(out_dir, 'gpu_report.jsonl')
        self.out_dir = out_dir

    def __call__(self, **record):
        line = json.dumps(record)
        print(line, flush=True)
        with open(self.path, 'a') as f:
            f.write(line + '\n')


def environment() -> dict:
    info = dict(section='env', torch=torch.__version__,
                cuda=torch.version.cuda, python=sys.version.split()[0])
    if torch.cuda.is_available():
        info.update(gpu=torch.cuda.get_device_name(0),
                    gpu_gib=round(torch.cuda.get_device_properties(0)
                                  .total_memory / GIB, 1))
    for name in ('diffusers', 'transformers', 'mmengine', 'deepspeed',
                 'bitsandbytes'):
        try:
            info[name] = __import__(name).__version__
        except Exception as exc:  # noqa: BLE001 - report, do not stop
            info[name] = f'missing ({type(exc).__name__})'
    return info


# --------------------------------------------------------------- full size
def synthetic_batch(size, batch, device):
    """``batch`` SyntheticScenes samples at ``size`` through the tiny MERGE
    config's training pipeline (flips off), collated."""
    from mmengine.config import Config

    from tools.analysis_tools import benchmark
    dataset = Config.fromfile(osp.join(REPO, TINY)).train_dataloader.dataset
    dataset.img_size = tuple(size)
    dataset.num_samples = batch
    dataset.cache_size = 0
    return benchmark.train_batch(dataset, batch)


def build_full(cfg, device):
    from mmengine.registry import init_default_scope

    from unidense.diffusion import meta_device_build
    from unidense.registry import MODELS
    init_default_scope('unidense')
    torch.manual_seed(0)
    with meta_device_build(device):
        model = MODELS.build(cfg.model)
    # tensors are on ``device`` already; ``to`` also tells mmengine's data
    # preprocessor where to send the batches, as the runner's wrap does
    return model.to(device).train()


def plan_estimate(cfg, args, setting) -> float:
    """memory_plan's total (bytes) for ``setting`` on a meta build."""
    from tools.analysis_tools import memory_plan
    from tools.analysis_tools.count_params import build_model
    cfg = cfg.copy()
    if setting.get('optimizer'):
        cfg.optim_wrapper.optimizer.type = setting['optimizer']
    plan_args = SimpleNamespace(
        gpus=1, strategy='fsdp' if setting.get('fsdp') else 'ddp',
        batch=args.batch, size=tuple(args.size),
        checkpointing=bool(setting.get('checkpointing')),
        frozen_dtype='bf16' if setting.get('frozen') == 'bf16' else 'fp32')
    model = build_model(cfg.model, 'meta')
    return memory_plan.plan(model, cfg, plan_args)['total']


def optim_cfg(cfg, setting, device):
    optim = cfg.optim_wrapper.copy()
    optim.optimizer = dict(optim.optimizer)
    if setting.get('optimizer'):
        optim.optimizer['type'] = setting['optimizer']
    if setting.get('autocast'):
        optim.update(type='AmpOptimWrapper' if device == 'cuda' else
                     'AutocastOptimWrapper', dtype=setting['autocast'])
    return optim


def synchronize(device):
    if device == 'cuda':
        torch.cuda.synchronize()


def measure_setting(model, data, optim, device, repeats):
    """(peak bytes of a step after the first, median step seconds)."""
    from mmengine.optim import build_optim_wrapper

    from tools.analysis_tools import benchmark
    wrapper = build_optim_wrapper(model, optim)
    if device == 'cuda':
        model.train_step(data, wrapper)   # optimizer state now exists
        synchronize(device)
        torch.cuda.reset_peak_memory_stats()
        model.train_step(data, wrapper)
        synchronize(device)
        peak = torch.cuda.max_memory_allocated()
    else:   # live tensors, as the CPU benchmarks count them
        peak = benchmark.peak_step_memory(model, data, wrapper)['peak'] * \
            2.0**20

    def step():
        model.train_step(data, wrapper)
        synchronize(device)
    seconds = benchmark.interleaved(dict(step=step), repeats,
                                    warmup=0)['step']
    del wrapper
    model.zero_grad(set_to_none=True)
    gc.collect()
    if device == 'cuda':
        torch.cuda.empty_cache()
    return peak, seconds


# name: what differs from plain fp32; applied in this order to one model
# (frozen weights are cast once, checkpointing is switched on once, FSDP
# wraps last)
SETTINGS = [
    ('fp32', dict()),
    ('fp32 + TF32 matmuls', dict(tf32=True)),
    ('bf16 autocast', dict(autocast='bfloat16')),
    ('fp16 autocast', dict(autocast='float16')),
    ('bf16 autocast + frozen bf16', dict(autocast='bfloat16', frozen='bf16')),
    ('bf16 autocast + frozen bf16 + checkpointing',
     dict(autocast='bfloat16', frozen='bf16', checkpointing=True)),
    ('... + AdamW8bit', dict(autocast='bfloat16', frozen='bf16',
                             checkpointing=True, optimizer='AdamW8bit')),
    ('... + FSDP (1 GPU, NCCL)', dict(autocast='bfloat16', frozen='bf16',
                                      checkpointing=True, fsdp=True)),
]


def section_full(args, report, device):
    import contextlib

    from tools.analysis_tools.memory_plan import text_encoders_stood_in
    wanted = [s for s in args.settings.split(';') if s]
    unknown = [s for s in wanted if s not in dict(SETTINGS)]
    if unknown:
        raise SystemExit(f'gpu_report: unknown --settings {unknown}; choose '
                         f'from {[name for name, _ in SETTINGS]}')
    with (text_encoders_stood_in() if args.stand_in_text else
          contextlib.nullcontext()):
        _full_settings(args, report, device, wanted)


def _full_settings(args, report, device, wanted):
    from mmengine.config import Config

    from unidense.engine.hooks import enable_gradient_checkpointing
    from unidense.engine.hooks.frozen_dtype_hook import cast_frozen_parameters
    cfg = Config.fromfile(osp.join(REPO, args.config))
    data = synthetic_batch(args.size, args.batch, device)
    start = time.perf_counter()
    model = build_full(cfg, device)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters()
                 if not p.requires_grad)
    report(section='full', event='built', config=args.config,
           trainable=trainable, frozen=frozen,
           seconds=round(time.perf_counter() - start, 1))
    fp32_time = None
    state = dict(frozen=False, checkpointing=False)   # applied so far
    for name, setting in SETTINGS:
        if wanted and name not in wanted:
            continue
        try:
            if setting.get('frozen') and not state['frozen']:
                cast_frozen_parameters(model, torch.bfloat16)
                state['frozen'] = True
            if setting.get('checkpointing') and not state['checkpointing']:
                enable_gradient_checkpointing(model)
                state['checkpointing'] = True
            trained = model
            if setting.get('fsdp'):
                trained = fsdp_one_process(model, device)
            torch.backends.cuda.matmul.allow_tf32 = bool(setting.get('tf32'))
            torch.backends.cudnn.allow_tf32 = bool(setting.get('tf32'))
            peak, seconds = measure_setting(
                trained, data, optim_cfg(cfg, setting, device), device,
                args.repeats)
            if name == 'fp32':
                fp32_time = seconds
            estimate = plan_estimate(cfg, args, setting)
            report(section='full', setting=name, batch=args.batch,
                   size=args.size, measured_gib=round(peak / GIB, 2),
                   estimate_gib=round(estimate / GIB, 2),
                   measured_mib=round(peak / 2.0**20, 1),
                   estimate_mib=round(estimate / 2.0**20, 1),
                   estimate_over_measured=round(estimate / peak, 3),
                   step_s=round(seconds, 4),
                   speed_vs_fp32=round(fp32_time / seconds, 2)
                   if fp32_time else None)
        except Exception as exc:  # noqa: BLE001 - keep the other settings
            report(section='full', setting=name, error=repr(exc)[:500],
                   trace=traceback.format_exc()[-1500:])
            model.zero_grad(set_to_none=True)
            gc.collect()


def fsdp_one_process(model, device):
    """The model wrapped in FullyShardedTrainable over a 1-process group."""
    import torch.distributed as dist

    from unidense.engine.runner.fully_sharded import FullyShardedTrainable
    if not dist.is_initialized():
        os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
        os.environ.setdefault('MASTER_PORT', '29533')
        dist.init_process_group('nccl' if device == 'cuda' else 'gloo',
                                rank=0, world_size=1)
    return FullyShardedTrainable(model)


# ------------------------------------------------- strategies over NCCL
def launch(cmd, log, timeout=420, **env_vars):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get(
        'PYTHONPATH', ''), PYTHON=sys.executable, **env_vars)
    os.makedirs(osp.dirname(log) or '.', exist_ok=True)
    start = time.perf_counter()
    with open(log, 'w') as f:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=f,
                              stderr=subprocess.STDOUT, timeout=timeout)
    text = open(log).read()
    return proc.returncode, time.perf_counter() - start, text


def final_weights(path):
    from unidense.utils.checkpoint_io import load_checkpoint_safe
    state = load_checkpoint_safe(path, map_location='cpu')['state_dict']
    return {k: v.float() for k, v in state.items()}


def section_strategies(args, report):
    work = osp.join(args.out, 'strategies')
    opts = ['model.train_seed=0', 'train_dataloader.dataset.pipeline.2.prob=0.0',
            'val_dataloader.dataset.num_samples=8', 'train_cfg.max_iters=4',
            'train_cfg.val_interval=4']
    weights = {}
    for port, strategy in enumerate(('ddp', 'fsdp', 'deepspeed')):
        run_dir = osp.join(work, strategy)
        cmd = ['bash', 'tools/dist_train.sh', TINY, '1', '--work-dir',
               run_dir, '--cfg-options', f'strategy={strategy}'] + opts
        try:
            code, seconds, log = launch(cmd, run_dir + '.log',
                                        PORT=str(29610 + port))
        except subprocess.TimeoutExpired:
            report(section='strategies', strategy=strategy, error='timeout')
            continue
        ckpt = osp.join(run_dir, 'iter_4.pth')
        record = dict(section='strategies', strategy=strategy,
                      returncode=code, seconds=round(seconds, 1),
                      backend='gloo' if 'using the gloo backend' in log or
                      not torch.cuda.is_available() else 'nccl',
                      absrel=_last(log, r'abs_rel:\s*([0-9.]+)'))
        if code == 0 and osp.exists(ckpt):
            weights[strategy] = final_weights(ckpt)
            if strategy != 'ddp' and 'ddp' in weights:
                ref = weights['ddp']
                record['max_abs_diff_vs_ddp'] = max(
                    (weights[strategy][k] - ref[k]).abs().max().item()
                    for k in ref)
        else:
            record['log_tail'] = log[-1500:]
        report(**record)
    ckpt = osp.join(work, 'fsdp', 'iter_4.pth')
    if osp.exists(ckpt):
        code, seconds, log = launch(
            [sys.executable, 'tools/test.py', TINY, ckpt, '--work-dir',
             osp.join(work, 'test_fsdp'), '--cfg-options',
             'test_dataloader.dataset.num_samples=8'],
            osp.join(work, 'test_fsdp.log'))
        report(section='strategies', what='tools/test.py on the FSDP ckpt',
               returncode=code, absrel=_last(log, r'abs_rel:\s*([0-9.]+)'),
               log_tail=None if code == 0 else log[-1500:])


def _last(text, pattern):
    found = re.findall(pattern, text)
    return float(found[-1]) if found else None


# ---------------------------------------------------------- 8-bit AdamW
def section_adamw8bit(args, report):
    work = osp.join(args.out, 'adamw8bit')
    for optimizer in ('AdamW', 'AdamW8bit'):
        run_dir = osp.join(work, optimizer)
        cmd = [sys.executable, 'tools/train.py', TINY, '--work-dir', run_dir,
               '--cfg-options', f'optim_wrapper.optimizer.type={optimizer}',
               f'train_cfg.max_iters={args.tiny_iters}',
               f'train_cfg.val_interval={args.tiny_iters}',
               f'default_hooks.checkpoint.interval={args.tiny_iters}']
        try:
            code, seconds, log = launch(cmd, run_dir + '.log')
        except subprocess.TimeoutExpired:
            report(section='adamw8bit', optimizer=optimizer, error='timeout')
            continue
        report(section='adamw8bit', optimizer=optimizer, returncode=code,
               iters=args.tiny_iters, seconds=round(seconds, 1),
               absrel=_last(log, r'abs_rel:\s*([0-9.]+)'),
               delta1=_last(log, r'delta1:\s*([0-9.]+)'),
               log_tail=None if code == 0 else log[-1500:])


def main(argv=None):
    args = parse_args(argv)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    report = Report(args.out)
    report(**environment())
    sections = dict(full=lambda: section_full(args, report, device),
                    strategies=lambda: section_strategies(args, report),
                    adamw8bit=lambda: section_adamw8bit(args, report))
    for name in args.sections.split(','):
        start = time.perf_counter()
        try:
            sections[name]()
        except Exception as exc:  # noqa: BLE001 - run the next section
            report(section=name, error=repr(exc)[:500],
                   trace=traceback.format_exc()[-2000:])
        report(section=name, event='done',
               seconds=round(time.perf_counter() - start, 1))


if __name__ == '__main__':
    main()
