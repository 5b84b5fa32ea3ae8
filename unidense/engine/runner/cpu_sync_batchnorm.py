"""Synchronised BatchNorm for CPU (gloo) process groups.

``torch.nn.SyncBatchNorm`` refuses CPU tensors ("expected input tensor to be
on GPU"), so ``sync_bn='torch'`` cannot work in unidense's CPU DDP. Without
it every process normalises over its own part of the batch, and 2 processes
x batch B do not train what 1 process x batch 2B trains (the Diff-2-in-1
neck and the VPD / Bae-BN heads normalise with BatchNorm). This module
computes the statistics over the whole distributed batch with autograd-aware
all-reduces (:class:`_AllReduceSum`: the backward of a sum over processes is
the sum of the gradients over processes), so gradients flow through the
shared mean and variance as in ``SyncBatchNorm``.

:class:`~unidense.engine.runner.UnidenseRunner` swaps it in for every
BatchNorm layer when a CPU DDP run's config sets ``sync_bn='torch'``.
"""
import torch
import torch.distributed as dist
import torch.nn as nn


class _AllReduceSum(torch.autograd.Function):
    """Sum over the processes of the default group, differentiable."""

    @staticmethod
    def forward(ctx, x):
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def all_reduce(x: torch.Tensor) -> torch.Tensor:
    return _AllReduceSum.apply(x)


class CPUSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose training statistics span every process of the
    default group (any device; meant for gloo on CPU).

    Input (B, C, *) with B >= 1 per process. Eval mode, or a single
    process, is plain BatchNorm. The variance is taken about the global
    mean (two reductions) rather than as E[x^2] - E[x]^2, which keeps it
    as accurate as the single-process computation.
    """

    def _check_input_dim(self, input):
        if input.dim() < 2:
            raise ValueError(f'CPUSyncBatchNorm: expected (B, C, ...) input, '
                             f'got {tuple(input.shape)}')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(x)
        if not (self.training and dist.is_available()
                and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        count = torch.tensor([x.numel() / x.shape[1]], dtype=x.dtype,
                             device=x.device)
        dist.all_reduce(count)
        mean = all_reduce(x.sum(dims)) / count
        centred = x - mean.view(shape)
        var = all_reduce((centred * centred).sum(dims)) / count
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = (1.0 / float(self.num_batches_tracked)
                            if self.momentum is None else self.momentum)
                unbiased = var * (count / (count - 1).clamp(min=1))
                self.running_mean.mul_(1 - momentum).add_(momentum * mean)
                self.running_var.mul_(1 - momentum).add_(momentum * unbiased)
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out


def convert_cpu_sync_batchnorm(module: nn.Module) -> nn.Module:
    """``module`` with every ``_BatchNorm`` (``SyncBatchNorm`` included)
    replaced by :class:`CPUSyncBatchNorm` carrying its parameters, buffers
    and train/eval mode (in place for children; returns the new root)."""
    out = module
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not \
            isinstance(module, CPUSyncBatchNorm):
        out = CPUSyncBatchNorm(module.num_features, module.eps,
                               module.momentum, module.affine,
                               module.track_running_stats)
        if module.affine:
            with torch.no_grad():
                out.weight = module.weight
                out.bias = module.bias
        if module.track_running_stats:
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
        out.train(module.training)
    for name, child in module.named_children():
        out.add_module(name, convert_cpu_sync_batchnorm(child))
    return out
