# Tiny schedule for CPU demos and tests: 20 iterations, AdamW lr 1e-3,
# warm-up 5 iterations then linear decay.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999),
                   weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=False,
         begin=5, end=20),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=20, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# Checkpoint / logging intervals live in default_runtime.py's default_hooks
# (bases may not both define a key); override them in the leaf config.
