# SyntheticScenes: procedural RGB-D rooms, no files needed. Used by the
# *_tiny configs, the CPU demo and the tests. 64x64 renders at ~300/s.
dataset_type = 'SyntheticScenes'
img_size = (64, 64)

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='LoadNormal'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='NormalizeDepth', min_quantile=0.02, max_quantile=0.98),
    dict(type='PadToMultiple', size_divisor=8),
    dict(type='PackDenseInputs'),
]
# Ground truth stays at the rendered size; only the image is padded.
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='LoadNormal'),
    dict(type='PadToMultiple', size_divisor=8, keep_gt_at_ori=True),
    dict(type='PackDenseInputs'),
]

train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, num_samples=256, img_size=img_size,
                 seed=0, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    # A different seed: validation scenes are not training scenes.
    dataset=dict(type=dataset_type, num_samples=8, img_size=img_size,
                 seed=1000, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader

# Exact metric depth; protocol 'synthetic' -> preset 'synthetic_scenes'
# (least squares, valid (1e-3, 20) m).
val_evaluator = dict(type='DepthMetric', protocol='auto')
test_evaluator = val_evaluator
