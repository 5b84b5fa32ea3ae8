# What the tiny denoisers' CPU continuations share
# (pixart_tiny_large_batch_cpu.py, unet_tiny_large_batch_cpu.py): the
# large-batch recipe of _t2i_tiny_large_batch.py sized for two CPU cores
# running both denoisers side by side, one thread each (OMP_NUM_THREADS=1):
# the 60,000 scenes rendered up front by one forked process and read in the
# training process (a worker would only compete for the core), and an EMA
# horizon of ~250 steps (momentum 4e-3) so the exported EMA is this stage's
# weights, not the starting ones (at 1e-3, 27 % of the EMA was still the
# starting weights after 1300 steps). Runs take hours: checkpoints every
# 250 iterations, continue an interrupted run with --resume.
_base_ = ['./_t2i_tiny_large_batch.py']

model = dict(ema_momentum=4e-3)
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(prerender=1))
default_hooks = dict(checkpoint=dict(interval=250, max_keep_ckpts=2))
