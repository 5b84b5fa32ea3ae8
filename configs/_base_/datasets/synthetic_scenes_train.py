# SyntheticScenes: procedural RGB-D rooms, no files needed. Used by the
# *_tiny configs, the CPU demo and the tests. 64x64 renders at ~300/s.
# Training part (training scenes); the evaluation part is
# synthetic_scenes_eval.py.
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='LoadNormal'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='NormalizeDepth', min_quantile=0.02, max_quantile=0.98),
    dict(type='PadToMultiple', size_divisor=8),
    dict(type='PackDenseInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SyntheticScenes', num_samples=256, img_size=(64, 64),
                 seed=0, pipeline=train_pipeline))
