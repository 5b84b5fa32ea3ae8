# Toy config exercising the unidense runtime (tests, CPU demo).
_base_ = [
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/schedule_tiny.py',
]
custom_imports = dict(imports=['tests.helpers.toy_model'],
                      allow_failed_imports=False)

model = dict(type='ToyRegressor', noise_std=0.0, iter_sleep=0.0)

train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='ToyRegressionDataset', num_samples=16,
                 augment_std=0.0))
val_dataloader = dict(
    batch_size=2,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    # 7 samples: not divisible by 2 processes, so a padded sample counted
    # twice would show in ToyMSEMetric's count / idx_sum.
    dataset=dict(type='ToyRegressionDataset', num_samples=7))
test_dataloader = val_dataloader
val_evaluator = dict(type='ToyMSEMetric')
test_evaluator = val_evaluator

# The toy model has no dense maps to draw.
default_hooks = dict(
    visualization=None,
    logger=dict(interval=5),
    checkpoint=dict(interval=10, max_keep_ckpts=2))

# A larger step than schedule_tiny's so that 20 steps visibly fit the toy.
optim_wrapper = dict(optimizer=dict(lr=0.05))
