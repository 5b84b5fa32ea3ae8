# What the tiny denoisers' large-batch stages share (pixart_tiny_large_batch.py,
# unet_tiny_large_batch.py): the recipe of _t2i_tiny_common.py continued from
# the shipped weights in model_zoo/unidense-tiny at batch 256 on 60,000 scenes
# (the 20,000 of the first stages plus 40,000 new ones of the same seed),
# rendered once up front by 14 processes and kept as image + caption only,
# read by 6 dataloader workers. Made for one GPU, where the tiny denoisers
# are bound by Python and kernel launches, not arithmetic: a batch of 256
# costs about what a batch of 32 does, so samples per second grow ~8x.
_base_ = ['./_t2i_tiny_common.py']

zoo = '{{ fileDirname }}/../../model_zoo/unidense-tiny'
train_dataloader = dict(
    batch_size=256,
    num_workers=6,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True, seed=2),
    dataset=dict(num_samples=60000, cache_size=60000,
                 cache_keys=('img', 'caption'), prerender=14))
# warm-up 200 + cosine from 4e-4 over 4000 iterations (~1M samples)
optim_wrapper = dict(optimizer=dict(lr=4e-4))
_iters = 4000
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=200),
    dict(type='CosineAnnealingLR', T_max=_iters - 200, eta_min=1e-5,
         by_epoch=False, begin=200, end=_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=_iters)
default_hooks = dict(
    checkpoint=dict(interval=250, max_keep_ckpts=1, save_last=True),
    logger=dict(interval=100))
