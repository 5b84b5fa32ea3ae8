"""Per-GPU training memory of a config, estimated without weights.

    python tools/analysis_tools/memory_plan.py CONFIG [--gpus N]
        [--strategy ddp|fsdp] [--batch B] [--size H W] [--checkpointing]
        [--frozen-dtype fp32|bf16] [--measure]

Built on the meta device (``count_params``' ``meta_device_build``), so a
12B FLUX costs nothing. Per GPU:

* weights: frozen parameters in ``--frozen-dtype`` (FrozenWeightsDtypeHook)
  + trainable fp32; gradients fp32 of the trainable ones; optimizer state
  (AdamW / Adam: 2 fp32 moments, SGD with momentum: 1, 8-bit AdamW: 2
  bytes). ``--strategy fsdp`` shards the trainable weights, gradients and
  optimizer state over ``--gpus`` (frozen weights replicated);
* activations: the tensors alive after the forward of the *trainable path*
  (what backward needs), traced for real on the meta device with autograd
  under :class:`~unidense.utils.live_memory.LiveTensorMemory`: MERGE's
  depth-mode denoiser, JointNet's joint fusion call, a Diff-2-in-1
  perceptor's features, neck(s) and head(s); frozen text encoders are
  stood in by zeros of their configured lengths and widths. Attention is counted as a fused
  (flash) kernel stores it - q, k, v, output, log-sum-exp - since the math
  path's N^2 score matrix never exists on a GPU with SDPA.
  ``--checkpointing`` enables activation checkpointing first.

Not counted: the frozen VAE and text encoders' transient activations (no
gradients), the loss, CUDA workspace and allocator fragmentation (add
10-20 %). ``--measure`` (tiny configs) also runs one real training step on
the CPU and prints its measured peak beside the estimate.
"""
import argparse
import contextlib
import os
import os.path as osp
import sys
from unittest import mock

os.environ.setdefault('HF_HUB_OFFLINE', '1')
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(1, REPO)

import torch  # noqa: E402

MIB = 2.0**20
STATE_BYTES = {'AdamW': 8, 'Adam': 8, 'AdamW8bit': 2, 'SGD': 4}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--gpus', type=int, default=1)
    parser.add_argument('--strategy', default='ddp', choices=['ddp', 'fsdp'])
    parser.add_argument('--batch', type=int, default=None,
                        help='images per GPU (default: the config\'s)')
    parser.add_argument('--size', type=int, nargs=2, default=None,
                        metavar=('H', 'W'), help='image size (default: '
                        'the model\'s sample size x VAE factor)')
    parser.add_argument('--checkpointing', action='store_true')
    parser.add_argument('--frozen-dtype', default='fp32',
                        choices=['fp32', 'bf16'])
    parser.add_argument('--measure', action='store_true',
                        help='tiny configs: also measure a real CPU step')
    return parser.parse_args(argv)


@contextlib.contextmanager
def flash_attention_accounting():
    """SDPA as a fused kernel stores it (see the module doc)."""
    import torch.nn.functional as F
    original = F.scaled_dot_product_attention

    def fused(query, key, value, attn_mask=None, dropout_p=0.0,
              is_causal=False, scale=None, **kwargs):
        if attn_mask is not None or kwargs.get('enable_gqa') or \
                query.shape[-1] != value.shape[-1]:
            return original(query, key, value, attn_mask=attn_mask,
                            dropout_p=dropout_p, is_causal=is_causal,
                            scale=scale, **kwargs)
        return torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
            query, key, value, dropout_p, is_causal, scale=scale)[0]
    with mock.patch.object(F, 'scaled_dot_product_attention', fused):
        yield


def text_stand_in(text_encoder, batch: int, device):
    """(sequence (B, L, D), mask (B, L), pooled (B, P) or None): zeros of
    a TextEncoder's configured lengths and widths on ``device``."""
    seq = pooled = None
    for spec, enc in zip(text_encoder.specs, text_encoder.encoders):
        if spec['role'] == 'sequence':
            seq = torch.zeros(batch, spec['max_length'],
                              text_encoder.embed_dim, device=device)
        else:
            cfg = enc.config
            pooled = torch.zeros(batch, getattr(cfg, 'projection_dim', None)
                                 or cfg.hidden_size, device=device)
    mask = None if seq is None else torch.ones(
        seq.shape[:2], dtype=torch.bool, device=device)
    return seq, mask, pooled


@contextlib.contextmanager
def text_encoders_stood_in():
    """Frozen text encoders run without gradients and call ``.item()``
    (not on the meta device): each returns zeros of its output shapes."""
    from unidense.diffusion.text_encoder import TextEncoder

    def encode(self, prompts):
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        device = next(self.parameters()).device
        seq, mask, pooled = text_stand_in(self, len(prompts), device)
        return dict(embeds=seq, mask=mask, pooled=pooled)
    with mock.patch.object(TextEncoder, 'encode', encode):
        yield


def trainable_forward(model, batch: int, size):
    """Run the trainable path once; returns its output."""
    device = next(model.parameters()).device
    if type(model).__name__ == 'DiffusionPerceptor':
        # one-step features, neck(s), head(s) from the image
        return model._forward(torch.zeros(batch, 3, *size, device=device))
    stride = int(model.codec.downsample_factor)
    h, w = size[0] // stride, size[1] // stride
    c = model.codec.latent_channels
    seq, mask, pooled = text_stand_in(model.text_encoder, batch, device)
    kind = type(model).__name__
    if kind == 'MERGE':
        latent = torch.zeros(batch, c, h, w, device=device)
        flow = model.prediction_type == 'flow'
        t = torch.full((batch, ), 0.5 if flow else 500, device=device)
        return model.denoiser(latent, torch.zeros_like(latent), t,
                              dict(embeds=seq, mask=mask, pooled=pooled))
    if kind == 'JointNet':
        latent = torch.zeros(batch, c * model.fusion.num_branches, h, w,
                             device=device)
        return model.fusion(latent, torch.full((batch, ), 500,
                                               device=device), seq)
    raise SystemExit(f'memory_plan: no trainable-path trace for {kind} '
                     f'(MERGE, JointNet, DiffusionPerceptor)')


def activation_bytes(model, batch, size, checkpointing=False) -> int:
    from unidense.engine.hooks import enable_gradient_checkpointing
    from unidense.utils.live_memory import LiveTensorMemory
    model.train()
    if checkpointing:
        enable_gradient_checkpointing(model)
    tracker = LiveTensorMemory(resident=[model])
    with flash_attention_accounting(), text_encoders_stood_in(), tracker:
        out = trainable_forward(model, batch, size)
    # while ``out`` lives, its autograd graph holds what backward needs
    kept = tracker.current_bytes - tracker.resident_bytes
    del out
    return kept


def plan(model, cfg, args) -> dict:
    from tools.analysis_tools.count_params import count_parameters
    frozen_bytes = 2 if args.frozen_dtype == 'bf16' else 4
    _, trainable, frozen = count_parameters(model)
    optimizer = cfg.optim_wrapper.get('optimizer', {}).get('type', 'AdamW')
    shard = args.gpus if args.strategy == 'fsdp' else 1
    batch = args.batch or int(cfg.train_dataloader.batch_size)
    size = args.size or default_size(model, cfg)
    out = dict(frozen_weights=frozen * frozen_bytes,
               trainable_weights=trainable * 4 / shard,
               gradients=trainable * 4 / shard,
               optimizer_state=trainable * STATE_BYTES.get(optimizer, 8) /
               shard,
               activations=activation_bytes(model, batch, size,
                                            args.checkpointing))
    out['total'] = sum(out.values())
    return dict(out, batch=batch, size=list(size), optimizer=optimizer)


def default_size(model, cfg):
    """The training images' size: a perceptor's network input size,
    SyntheticScenes' ``img_size`` (tiny configs), else the denoiser's
    sample size x the VAE factor."""
    if getattr(model, 'input_size', None):  # DiffusionPerceptor
        return tuple(model.input_size)
    dataset = cfg.train_dataloader.get('dataset', {})
    if dataset.get('img_size'):
        size = dataset['img_size']
        return tuple(size) if isinstance(size, (list, tuple)) else (
            int(size), int(size))
    if not hasattr(model, 'codec'):
        raise SystemExit('memory_plan: give --size H W (the training crop)')
    stride = int(model.codec.downsample_factor)
    net = model.backbone.network
    sample = int(getattr(net.config, 'sample_size', 64) or 64)
    return (sample * stride, sample * stride)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from tools.analysis_tools.count_params import build_model
    init_default_scope('unidense')
    cfg = Config.fromfile(args.config)
    model = build_model(cfg.model, 'meta')
    result = plan(model, cfg, args)
    for key in ('frozen_weights', 'trainable_weights', 'gradients',
                'optimizer_state', 'activations', 'total'):
        print(f'{key}_mib={result[key] / MIB:.2f}')
    print(f"# per GPU: {args.strategy}, {args.gpus} GPU(s), batch "
          f"{result['batch']}, {result['size'][0]}x{result['size'][1]}, "
          f"{result['optimizer']}, frozen {args.frozen_dtype}"
          f"{', checkpointing' if args.checkpointing else ''}")
    if args.measure:
        result['measured'] = measure(args.config, result['batch'])
        print(f"measured_peak_mib={result['measured'] / MIB:.2f} "
              f"estimate_mib={result['total'] / MIB:.2f} "
              f"ratio={result['total'] / result['measured']:.3f}")
    return result


def measure(config, batch) -> float:
    """Peak tensor bytes of one real CPU training step (tiny configs)."""
    from tools.analysis_tools import benchmark
    cfg, model = benchmark.build(osp.relpath(osp.abspath(config), osp.join(
        REPO, 'configs')))
    data = benchmark.train_batch(cfg.train_dataloader.dataset, batch)
    wrapper = benchmark.optim_wrapper(cfg, model)
    return benchmark.peak_step_memory(model, data, wrapper)['peak'] * MIB


if __name__ == '__main__':
    main()
