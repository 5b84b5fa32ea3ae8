"""FLOPs of a config's model per component, with fvcore.

    python tools/analysis_tools/get_flops.py CONFIG [--shape H W]
        [--key model] [--cfg-options k=v ...]

The model is built for real on the CPU (use ``_tiny`` configs on a laptop)
and traced once on dummy inputs of an image of ``H x W``: a model may define
``dummy_inputs(h, w) -> tuple`` of forward arguments; otherwise known types
are handled (SDUNet / UNet2DConditionModel: latent at H/8 + timestep + text
tokens; AutoencoderKL, SDUNetFeatures and any other model: an image
(1, 3, H, W) in [-1, 1]; dense estimators trace their ``mode='tensor'``
forward, a whole inference). The DiT backbones (PixArtDiT, FluxDiT) define
``dummy_inputs``. A ``GenerationEvaluator`` (``eval_t2i_*`` /
``eval_generation_*`` configs) takes prompts, not images: it is counted
generating one image for ``--prompt`` with torch's ``FlopCounterMode``
(no trace needed), halved to fvcore's convention. Prints FLOPs (fvcore
counts one fused multiply-add as one FLOP) per top-level child and ends
with ``total_flops=<int>``.
"""
import argparse
import os
import os.path as osp
import sys

os.environ.setdefault('HF_HUB_OFFLINE', '1')
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

import torch  # noqa: E402


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=int, nargs=2, default=[64, 64],
                        metavar=('H', 'W'), help='image size (default 64 64)')
    parser.add_argument('--key', default='model',
                        help='config variable to build (default: model)')
    parser.add_argument('--prompt', default='a room with red walls',
                        help='prompt of generation evaluators')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    return parser.parse_args(argv)


def dummy_inputs(model, h, w):
    """Forward arguments for a ``h x w`` image (see module doc)."""
    if hasattr(model, 'dummy_inputs') and callable(model.dummy_inputs):
        return tuple(model.dummy_inputs(h, w))
    p = next(model.parameters())
    unet_cfg = None
    if type(model).__name__ == 'SDUNet':
        unet_cfg = model.unet.config
    elif type(model).__name__ == 'UNet2DConditionModel':
        unet_cfg = model.config
    if unet_cfg is not None:
        sample = torch.randn(1, unet_cfg.in_channels, h // 8, w // 8,
                             dtype=p.dtype)
        ctx = torch.randn(1, 77, unet_cfg.cross_attention_dim, dtype=p.dtype)
        return sample, torch.tensor([500]), ctx
    return (torch.rand(1, 3, h, w, dtype=p.dtype) * 2 - 1, )


class _Traceable(torch.nn.Module):
    """Make diffusers outputs (dataclasses, dicts) traceable tensors.
    ``model`` may be any callable; ``owner``, the module whose parameters
    it uses, is registered so the tracer sees them as parameters (not as
    constants, which fails for trainable ones)."""

    def __init__(self, model, owner=None):
        super().__init__()
        self.model = model
        self.owner = owner

    def forward(self, *args):
        out = self.model(*args)
        return _flatten(out)


def _flatten(out):
    if torch.is_tensor(out):
        return out
    if hasattr(out, 'sample'):
        return out.sample
    if isinstance(out, dict):
        return tuple(_flatten(v) for v in out.values() if v is not None)
    if isinstance(out, (list, tuple)):
        return tuple(_flatten(v) for v in out)
    return out


def _analysis(fn, inputs, owner=None):
    """fvcore's FlopCountAnalysis of ``fn(*inputs)`` (a module, or any
    callable using the parameters of ``owner``), its warnings off."""
    from fvcore.nn import FlopCountAnalysis
    analysis = FlopCountAnalysis(_Traceable(fn, owner).eval(), inputs)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings('none')
    return analysis


def traced_flops(fn, inputs, owner=None) -> float:
    """fvcore FLOPs of ``fn(*inputs)`` (one multiply-add = 1 FLOP); ``fn``
    a module, or a callable using the parameters of the module ``owner``."""
    with torch.no_grad():
        return float(_analysis(fn, inputs, owner).total())


def counted_flops(fn) -> float:
    """FLOPs of ``fn()`` counted by torch's ``FlopCounterMode`` (backward
    passes included when ``fn`` runs them), halved to fvcore's convention
    (torch counts a multiply-add as 2)."""
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops() / 2


def flops_by_child(model, inputs):
    """``(total, {child name: flops})`` from one fvcore trace."""
    with torch.no_grad():
        analysis = _analysis(model, inputs)
        by_module = analysis.by_module()
        # some fvcore handlers count fractional FLOPs; report integers
        total = int(round(analysis.total()))
    per_child = {}
    for name, child in model.named_children():
        if child is not None:
            per_child[name] = int(round(by_module.get(f'model.{name}', 0)))
    return total, per_child


def generation_flops(model, prompt):
    """``(total, {child: flops})`` of one image a ``GenerationEvaluator``
    generates for ``prompt`` (its configured steps and guidance, no cache),
    counted by :func:`counted_flops`."""
    from unidense.structures import DenseDataSample
    sample = DenseDataSample(metainfo=dict(prompt=prompt, prompt_idx=0))
    cache, model.cache_dir = model.cache_dir, None
    try:
        with torch.no_grad():
            total = int(counted_flops(lambda: model.predict(None, [sample])))
    finally:
        model.cache_dir = cache
    return total, {'model': total}


def main(argv=None):
    from mmengine.config import Config

    from unidense.registry import MODELS
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.key not in cfg:
        raise SystemExit(f'get_flops: {args.config} has no `{args.key}`')
    model = MODELS.build(cfg[args.key]).eval()
    h, w = args.shape
    from unidense.models.estimators import GenerationEvaluator
    if isinstance(model, GenerationEvaluator):
        total, per_child = generation_flops(model, args.prompt)
        what = f'one image for {args.prompt!r}'
    else:
        inputs = dummy_inputs(model, h, w)
        what = f'input {h}x{w}'
        try:
            total, per_child = flops_by_child(model, inputs)
        except Exception as exc:  # tracing needs plain tensor inputs
            raise SystemExit(
                f'get_flops: could not trace {type(model).__name__} on '
                f'inputs {[tuple(getattr(i, "shape", ())) for i in inputs]}'
                f' ({exc}); give the model a dummy_inputs(h, w) method'
            ) from exc
    width = max([len(n) for n in per_child] + [5])
    print(f'{"child".ljust(width)}  GFLOPs')
    for name, flops in per_child.items():
        print(f'{name.ljust(width)}  {flops / 1e9:.6f}')
    print(f'model: {type(model).__name__}, {what}: '
          f'{total / 1e9:.6f} GFLOPs')
    print(f'total_flops={total}')
    return total, per_child


if __name__ == '__main__':
    main()
