# Diff-2-in-1's self-improving training applied to JointNet (a combination
# no official code offers): sd21_rgbd_tiny.py for 1000 warm-up + 1000
# self-improving iterations. The synthetic images come from JointNet's own
# frozen RGB branch (the tiny UNet: SDEdit re-generations of 512 training
# scenes); the creation copy of the depth branch labels them by rgb2j
# inpainting, as the model estimates depth.
#   python tools/create_synthetic.py configs/jointnet/sd21_rgbd_selfimprove_tiny.py
#   python tools/train.py configs/jointnet/sd21_rgbd_selfimprove_tiny.py
_base_ = ['./sd21_rgbd_tiny.py', '../diff2in1/_base_/selfimprove_tiny.py']

_warmup = 1000
_iters = 2000
_synthetic_dir = 'work_dirs/synthetic/scenes64_tiny_unet_jointnet'
model = dict(_delete_=True, type='SelfImprovingEstimator',
             estimator={{_base_.model}})
# generator None: JointNet's own RGB UNet, VAE, text encoder, scheduler
synthetic_data = dict(_base_.si_synthetic_data, out_dir=_synthetic_dir,
                      generator=None, num_images=512)
train_dataloader = dict(
    batch_sampler=dict(type='SelfImprovingBatchSampler',
                       warmup_iters=_warmup, seed=0),
    dataset=dict(_delete_=True, type='ConcatDataset',
                 ignore_keys=_base_.si_concat_ignore_keys,
                 datasets=[{{_base_.train_dataloader.dataset}},
                           dict(_base_.si_synthetic_dataset,
                                data_root=_synthetic_dir)]))
# 1000 stage-2 iterations at batch 16: K = 2, 500 EMA updates; the
# paper's quarter-of-stage-2 horizon is alpha 0.992
custom_hooks = [dict(type='SelfImprovingHook', warmup_iters=_warmup,
                     ema_alpha=0.992, ema_interval_samples=40)]
