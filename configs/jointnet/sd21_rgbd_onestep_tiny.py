# One-step JointNet rgb2j at tiny sizes (Garcia et al., WACV 2025, applied
# to JointNet): the RGB branch sees the clean image latent at t = 0, the
# depth branch a zero latent at the trailing timestep, one joint call; the
# depth branch and the exchange convs train end to end through the frozen
# VAE decoder with an affine-invariant L1 loss (OneStepEstimator).
# init_checkpoint: a stage-1 run of sd21_rgbd_tiny.py; None starts from
# JointNet's initialisation (the depth branch a copy of the pretrained RGB
# UNet, zero exchange convs), i.e. trains the one-step model directly.
#   python tools/train.py configs/jointnet/sd21_rgbd_onestep_tiny.py
#   python tools/test.py configs/jointnet/sd21_rgbd_onestep_tiny.py \
#       work_dirs/sd21_rgbd_onestep_tiny/iter_600.pth
# Measured: configs/jointnet/README.md "One-step rgb2j".
_base_ = ['./sd21_rgbd_tiny.py']

_iters = 600
model = dict(
    _delete_=True,
    type='OneStepEstimator',
    estimator={{_base_.model}},
    init_checkpoint=None,
    loss=dict(type='AffineInvariantDepthLoss'))
train_dataloader = dict(batch_size=8)
# trained from JointNet's initialisation: half the stage-1 lr
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=20),
    dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=20,
         end=_iters),
]
train_cfg = dict(max_iters=_iters, val_interval=_iters)
default_hooks = dict(checkpoint=dict(interval=_iters // 2))
