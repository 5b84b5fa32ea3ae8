"""Every method measured side by side, as ratios from one run (issue 27).

    python tools/analysis_tools/benchmark.py SUITE [SUITE ...]
        [--repeats 5] [--threads 2] [--batch 8] [--out FILE]

Suites (``all`` runs each):

* ``jointnet``: a JointNet training step (stage 2: both UNets train)
  against two training steps of the plain UNet (the family's text-to-image
  pretrainer of the same UNet, same batch); peak tensor memory of a stage-1
  step (RGB branch frozen) against a full fine-tune step.
* ``merge``: MERGE's depth-mode network call against the frozen DiT's
  text-to-image call on the same tokens, beside fvcore's FLOPs ratio.
* ``panorama``: a tiled, wrapped JointNet panorama (the panorama config's
  tiling, tiles batched) against one non-tiled generation of the same
  canvas, same steps.
* ``selfimprove``: a Diff-2-in-1 stage-2 step (Bae; labelled + unlabelled
  images) with the frozen-backbone feature cache against without, in the
  steady state where the cache knows the images.
* ``depth_metric``: ``DepthMetric`` (Marigold NYU protocol, least squares)
  over 654 maps of 480 x 640.
* ``onestep``: per-image time of one-step MERGE and JointNet rgb2j depth
  (``OneStepEstimator``) against 20 denoising steps of the same model.
* ``throughput``: images/s of each method's inference (``--methods``) at
  tiny and medium image sizes (``--sizes 64 256``), and the speed-up of
  each ``inference_speedups`` switch (explicit 'math' attention against
  SDPA, channels-last, bf16 autocast; ``--compile`` adds torch.compile).

Each figure is the median over ``--repeats`` rounds; within a round the
compared variants run one after the other (interleaved), so a slow spell of
a shared machine hits both. Prints ``name=value`` lines and writes the
figures with the machine and settings to ``--out`` (JSON). Targets and the
recorded numbers: docs/benchmarks.md.
"""
import argparse
import functools
import json
import os
import os.path as osp
import platform
import statistics
import sys
import time

os.environ.setdefault('HF_HUB_OFFLINE', '1')
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(1, REPO)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from tools.analysis_tools.get_flops import (  # noqa: E402
    counted_flops, traced_flops)

MIB = 2.0**20


def interleaved(variants, repeats: int, warmup: int = 1) -> dict:
    """Median seconds of each ``{name: fn}``, the variants taking turns."""
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def build(config: str, **model_changes):
    """(cfg, model) of a config (relative to configs/), model in train
    mode with ``model_changes`` applied to its config."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from unidense.registry import MODELS
    init_default_scope('unidense')
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    cfg.model.update(model_changes)
    torch.manual_seed(0)
    return cfg, MODELS.build(cfg.model).train()


def train_batch(dataset_cfg, num: int, start: int = 0):
    """``num`` samples of a (training) dataset config, random flips off,
    collated as the dataloader does."""
    from mmengine.dataset import pseudo_collate

    from unidense.registry import DATASETS
    if 'pipeline' in dataset_cfg:
        dataset_cfg.pipeline = [t for t in dataset_cfg.pipeline
                                if t['type'] != 'RandomFlip']
    dataset = DATASETS.build(dataset_cfg)
    return pseudo_collate([dataset[i] for i in range(start, start + num)])


def optim_wrapper(cfg, model):
    from mmengine.optim import build_optim_wrapper
    return build_optim_wrapper(model, cfg.optim_wrapper)


def step_fn(model, data, wrapper):
    return lambda: model.train_step(data, wrapper)


def peak_step_memory(model, data, wrapper) -> dict:
    """Peak tensor memory (MiB) of one training step after a first one
    (which creates the optimizer state), split into resident (weights,
    buffers, optimizer state) and what the step adds (gradients,
    activations, temporaries)."""
    from unidense.utils.live_memory import LiveTensorMemory
    model.train_step(data, wrapper)
    tracker = LiveTensorMemory(resident=[model, wrapper])
    with tracker:
        model.train_step(data, wrapper)
    return dict(peak=tracker.peak_bytes / MIB,
                resident=tracker.resident_bytes / MIB,
                step=tracker.new_peak_bytes / MIB)


def suite_jointnet(args) -> dict:
    cfg, joint = build('jointnet/sd21_rgbd_stage2_tiny.py')
    unet_cfg, plain = build('pretrain/unet_tiny.py', ema_momentum=None)
    joint_data = train_batch(cfg.train_dataloader.dataset, args.batch)
    plain_data = train_batch(unet_cfg.train_dataloader.dataset, args.batch)
    joint_opt = optim_wrapper(cfg, joint)
    plain_opt = optim_wrapper(unet_cfg, plain)
    plain_step = step_fn(plain, plain_data, plain_opt)
    t = interleaved(dict(joint=step_fn(joint, joint_data, joint_opt),
                         plain=plain_step), args.repeats)
    flops = counted_flops(step_fn(joint, joint_data, joint_opt)) / (
        2 * counted_flops(plain_step))
    out = {'jointnet.step_s': t['joint'], 'jointnet.plain_unet_step_s':
           t['plain'],
           'jointnet.step_over_2x_plain_unet': t['joint'] / (2 * t['plain']),
           'jointnet.step_over_2x_plain_unet_flops': flops}
    stage1_cfg, stage1 = build('jointnet/sd21_rgbd_tiny.py')
    full = peak_step_memory(joint, joint_data, joint_opt)
    part = peak_step_memory(stage1, joint_data,
                            optim_wrapper(stage1_cfg, stage1))
    for name, mem in (('stage1', part), ('full_finetune', full)):
        for key, value in mem.items():
            out[f'jointnet.{name}_{key}_mib'] = value
    out['jointnet.stage1_over_full_peak_memory'] = part['peak'] / full['peak']
    return out


def _merge_calls(model, batch: int, size: int):
    """Depth-mode and text-to-image network calls of MERGE on the tokens
    of ``batch`` images of ``size`` pixels."""
    h = size // model.latent_stride
    latent = torch.randn(batch, model.codec.latent_channels, h, h)
    cond = torch.randn_like(latent)
    t = torch.full((batch, ), 500)
    text = model.encode_prompt(batch)
    extra = dict(resolution=None, aspect_ratio=None)

    def depth_mode(noisy, rgb, steps, embeds):
        return model.denoiser(noisy, rgb, steps, dict(text, embeds=embeds))

    def t2i(noisy, steps, embeds):
        return model.backbone(noisy, steps, embeds, text['mask'], extra)
    return ((depth_mode, (latent, cond, t, text['embeds'])),
            (t2i, (latent, t, text['embeds'])))


def suite_merge(args) -> dict:
    _, model = build('merge/pixart_depth_tiny.py')
    model.eval()
    (depth_fn, depth_in), (t2i_fn, t2i_in) = _merge_calls(model, args.batch,
                                                         64)
    with torch.no_grad():
        t = interleaved(dict(depth=lambda: depth_fn(*depth_in),
                             t2i=lambda: t2i_fn(*t2i_in)), args.repeats)
        flops_depth = traced_flops(depth_fn, depth_in, owner=model)
        flops_t2i = traced_flops(t2i_fn, t2i_in, owner=model)
    time_ratio = t['depth'] / t['t2i']
    flops_ratio = flops_depth / flops_t2i
    return {'merge.depth_mode_s': t['depth'], 'merge.t2i_s': t['t2i'],
            'merge.depth_over_t2i_time': time_ratio,
            'merge.depth_over_t2i_flops': flops_ratio,
            'merge.time_ratio_over_flops_ratio': time_ratio / flops_ratio}


def suite_panorama(args) -> dict:
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('unidense')
    _, model = build('jointnet/sd21_rgbd_panorama_tiny.py')
    model.eval()
    sampling = dict(Config.fromfile(osp.join(
        REPO, 'configs/jointnet/sd21_rgbd_panorama_tiny.py')).sampling)
    sampling['num_inference_steps'] = args.panorama_steps
    tiling = dict(sampling.pop('tiling'))

    def run(tiles):
        return lambda: model.sample(
            **sampling, tiling=tiles,
            generator=torch.Generator().manual_seed(0))
    one_by_one = dict(tiling, batch_size=1)
    with torch.no_grad():
        t = interleaved(dict(tiled=run(tiling), plain=run(None),
                             tiled_unbatched=run(one_by_one)), args.repeats)
        flops = counted_flops(run(tiling)) / counted_flops(run(None))
    return {'panorama.tiled_over_plain_flops': flops,
            'panorama.tiled_s': t['tiled'], 'panorama.plain_s': t['plain'],
            'panorama.tiled_over_plain': t['tiled'] / t['plain'],
            'panorama.unbatched_tiles_over_plain':
            t['tiled_unbatched'] / t['plain'],
            'panorama.tile_batch_size': tiling['batch_size']}


def _with_unlabelled(data, labelled: int):
    """The batch with samples from ``labelled`` on as unlabelled
    (synthetic) images: no ground truth, ``unlabelled=True``."""
    from unidense.structures import DenseDataSample
    samples = list(data['data_samples'])
    for i in range(labelled, len(samples)):
        samples[i] = DenseDataSample(metainfo=dict(samples[i].metainfo,
                                                   unlabelled=True))
    return dict(data, data_samples=samples)


def suite_selfimprove(args) -> dict:
    config = 'diff2in1/bae_nyu_normal_selfimprove_tiny.py'
    cfg, plain = build(config)
    _, cached = build(config, feature_cache=dict())
    cached.load_state_dict(plain.state_dict())
    # the labelled part of the stage-2 mixture; its second half stands in
    # for the synthetic images
    labelled = cfg.train_dataloader.dataset.datasets[0]
    data = _with_unlabelled(train_batch(labelled, args.batch),
                            args.batch // 2)
    steps = {}
    for name, model in (('cached', cached), ('plain', plain)):
        model.start_self_improving()
        steps[name] = step_fn(model, data, optim_wrapper(cfg, model))
    t = interleaved(steps, args.repeats)
    flops = counted_flops(steps['cached']) / counted_flops(steps['plain'])
    return {'selfimprove.cached_over_plain_flops': flops,
            'selfimprove.cached_step_s': t['cached'],
            'selfimprove.plain_step_s': t['plain'],
            'selfimprove.cached_over_plain': t['cached'] / t['plain'],
            'selfimprove.cache_hits': cached.feature_cache.hits,
            'selfimprove.cache_misses': cached.feature_cache.misses}


def depth_maps(num: int, seed: int = 0):
    """``num`` (prediction, ground truth) pairs of 480 x 640 float32:
    metres in [0.5, 10] and an affine-invariant prediction with noise
    (8 distinct pairs, repeated)."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(8):
        gt = rng.uniform(0.5, 10.0, (1, 480, 640)).astype(np.float32)
        pred = (gt - 0.5) / 9.5 + rng.normal(0, 0.02, gt.shape)
        pairs.append((torch.from_numpy(pred.astype(np.float32)),
                      torch.from_numpy(gt)))
    return [pairs[i % 8] for i in range(num)]


def suite_depth_metric(args) -> dict:
    from unidense.evaluation.metrics import DepthMetric
    maps = depth_maps(654)
    samples = [dict(pred_depth=dict(data=p), gt_depth=dict(data=g),
                    img_path=f'{i:04d}.png') for i, (p, g) in enumerate(maps)]

    def run():
        metric = DepthMetric(preset='marigold_nyu')
        for start in range(0, len(samples), args.batch):
            metric.process(None, samples[start:start + args.batch])
        return metric.compute_metrics(metric.results)
    t = interleaved(dict(metric=run), max(1, args.repeats // 2))
    return {'depth_metric.images_per_s': len(samples) / t['metric'],
            'depth_metric.images': len(samples)}


THROUGHPUT_CONFIGS = {
    'merge': 'merge/pixart_depth_tiny.py',
    'merge_flux': 'merge/flux_depth_tiny.py',
    'jointnet': 'jointnet/sd21_rgbd_tiny.py',
    'vpd_depth': 'diff2in1/vpd_nyu_depth_tiny.py',
    'bae': 'diff2in1/bae_nyu_normal_tiny.py',
    'invpt': 'diff2in1/invpt_nyudmt_tiny.py',
}
SWITCHES = dict(math_attention=dict(attention='math'),
                channels_last=dict(channels_last=True),
                autocast_bf16=dict(autocast='bf16'),
                compile=dict(compile=True))


def suite_throughput(args) -> dict:
    """Images/s of each method's inference (``mode='tensor'``: its whole
    recipe, e.g. JointNet's 10 DDIM steps, MERGE's 5-draw ensemble) at
    ``--sizes`` pixels, and the speed-up of each inference switch."""
    from unidense.engine.hooks import apply_inference_speedups
    switches = [s for s in SWITCHES if s != 'compile' or args.compile]
    out = {}
    for method in args.methods:
        variants = {}
        for name in ['baseline'] + switches:
            _, model = build(THROUGHPUT_CONFIGS[method])
            model.eval()
            if name != 'baseline':
                apply_inference_speedups(model, **SWITCHES[name])
            variants[name] = model
        for size in args.sizes:
            images = torch.rand(args.batch, 3, size, size) * 2 - 1

            def run(model, images=images):
                torch.manual_seed(0)
                return model(images, None, mode='tensor')
            with torch.no_grad():
                t = interleaved({name: functools.partial(run, model)
                                 for name, model in variants.items()},
                                args.repeats)
            key = f'throughput.{method}.{size}px'
            out[f'{key}.images_per_s'] = args.batch / t['baseline']
            for name in switches:
                out[f'{key}.{name}_speedup'] = t['baseline'] / t[name]
    return out


def suite_onestep(args) -> dict:
    """Per-image time of one-step estimation (:class:`OneStepEstimator`:
    one network call at the trailing timestep) against 20 denoising steps
    of the same estimator (one draw, no ensemble), MERGE and JointNet."""
    cases = {'merge': ('merge/pixart_depth_onestep_tiny.py',
                       dict(num_inference_steps=20, ensemble_size=1)),
             'jointnet': ('jointnet/sd21_rgbd_onestep_tiny.py',
                          dict(depth_steps=20, ensemble_size=1))}
    out = {}
    for method, (config, many_steps) in cases.items():
        _, one_step = build(config, init_checkpoint=None)
        one_step.eval()
        inner = one_step.estimator
        for key, value in many_steps.items():
            setattr(inner, key, value)
        images = torch.rand(args.batch, 3, 64, 64) * 2 - 1
        with torch.no_grad():
            t = interleaved(dict(
                one=lambda: one_step(images, None, mode='tensor'),
                many=lambda: inner(images, None, mode='tensor')),
                args.repeats)
        out[f'onestep.{method}.one_step_ms_per_image'] = \
            1e3 * t['one'] / args.batch
        out[f'onestep.{method}.20_steps_ms_per_image'] = \
            1e3 * t['many'] / args.batch
        out[f'onestep.{method}.speedup'] = t['many'] / t['one']
    return out


SUITES = dict(jointnet=suite_jointnet, merge=suite_merge,
              panorama=suite_panorama, selfimprove=suite_selfimprove,
              depth_metric=suite_depth_metric, throughput=suite_throughput,
              onestep=suite_onestep)


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            names = [ln.split(':', 1)[1].strip() for ln in f
                     if ln.startswith('model name')]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return dict(cpu=cpu, cores=os.cpu_count(), torch=torch.__version__,
                threads=torch.get_num_threads(),
                python=platform.python_version())


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('suites', nargs='+',
                        choices=list(SUITES) + ['all'])
    parser.add_argument('--repeats', type=int, default=5,
                        help='timed rounds per figure (median)')
    parser.add_argument('--threads', type=int, default=2,
                        help='torch threads (default 2, our CI machines)')
    parser.add_argument('--batch', type=int, default=8,
                        help='images per training step / metric batch')
    parser.add_argument('--panorama-steps', type=int, default=5,
                        help='denoising steps of each panorama')
    parser.add_argument('--methods', nargs='+',
                        default=list(THROUGHPUT_CONFIGS),
                        choices=list(THROUGHPUT_CONFIGS),
                        help='methods of the throughput suite')
    parser.add_argument('--sizes', type=int, nargs='+', default=[64, 256],
                        help='image sizes of the throughput suite (tiny '
                        'and medium)')
    parser.add_argument('--compile', action='store_true',
                        help='throughput suite: also torch.compile (slow '
                        'to compile on CPU)')
    parser.add_argument('--out', default=osp.join(
        REPO, 'work_dirs', 'benchmarks', 'benchmark.json'))
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    names = list(SUITES) if 'all' in args.suites else args.suites
    figures = {}
    for name in names:
        start = time.perf_counter()
        result = SUITES[name](args)
        for key, value in result.items():
            print(f'{key}={value:.4g}' if isinstance(value, float) else
                  f'{key}={value}', flush=True)
        figures.update(result)
        print(f'# {name}: {time.perf_counter() - start:.0f} s', flush=True)
    record = dict(machine=machine(), settings=dict(
        repeats=args.repeats, threads=args.threads, batch=args.batch,
        panorama_steps=args.panorama_steps, suites=names,
        methods=args.methods, sizes=args.sizes, compile=args.compile),
        figures=figures)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    tmp = args.out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(record, f, indent=1)
    os.replace(tmp, args.out)
    print(f'# wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
