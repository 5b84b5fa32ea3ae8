# One-step MERGE at tiny sizes (Garcia et al., WACV 2025): the trained
# pixart_depth_tiny.py run once at the trailing timestep from a zero latent
# (deterministic), then fine-tuned end to end through the frozen VAE
# decoder with an affine-invariant L1 loss on depth (OneStepEstimator).
#   python tools/train.py configs/merge/pixart_depth_tiny.py
#   python tools/train.py configs/merge/pixart_depth_onestep_tiny.py
#   python tools/test.py configs/merge/pixart_depth_onestep_tiny.py \
#       work_dirs/pixart_depth_onestep_tiny/iter_300.pth
# Given the pixart_depth_tiny.py checkpoint instead, tools/test.py scores
# the one-step model before fine-tuning. Measured: configs/merge/README.md
# "One-step estimation".
_base_ = ['./pixart_depth_tiny.py']

_iters = 300
model = dict(
    _delete_=True,
    type='OneStepEstimator',
    estimator={{_base_.model}},
    init_checkpoint='work_dirs/pixart_depth_tiny/iter_1000.pth',
    loss=dict(type='AffineInvariantDepthLoss'))
# a tenth of the first training's lr, constant after a short warm-up
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=20),
    dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=20,
         end=_iters),
]
train_cfg = dict(max_iters=_iters, val_interval=_iters)
default_hooks = dict(checkpoint=dict(interval=_iters))
