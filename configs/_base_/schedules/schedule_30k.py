# 30k iterations, AdamW lr 1e-4, wd 0.01; linear warm-up over 500 iterations,
# then linear decay to 0.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                   weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=500),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=False,
         begin=500, end=30000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=30000,
                 val_interval=3000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# Checkpoint / logging intervals live in default_runtime.py's default_hooks
# (bases may not both define a key); override them in the leaf config.
