# InvPT / TaskPrompter schedule (brief 5.1-5.2): Adam lr 2e-5, wd 1e-6, poly
# (power 0.9) over 40k iterations; TaskPrompter configs change the lr and
# clip gradients at norm 10.
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='Adam', lr=2e-5, weight_decay=1e-6))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0,
         end=40000)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=40000,
                 val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
