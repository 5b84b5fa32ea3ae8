# SyntheticScenes: procedural RGB-D rooms, no files needed. Used by the
# *_tiny configs, the CPU demo and the tests. 64x64 renders at ~300/s.
# Evaluation part: method configs list it in `_base_` to evaluate on
# this dataset; the training part is synthetic_scenes_train.py.

# Ground truth stays at the rendered size; only the image is padded.
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='LoadNormal'),
    dict(type='PadToMultiple', size_divisor=8, keep_gt_at_ori=True),
    dict(type='PackDenseInputs'),
]

val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    # A different seed: validation scenes are not training scenes.
    dataset=dict(type='SyntheticScenes', num_samples=8, img_size=(64, 64),
                 seed=1000, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader

# Exact metric depth; protocol 'synthetic' -> preset 'synthetic_scenes'
# (least squares, valid (1e-3, 20) m).
val_evaluator = dict(type='DepthMetric', protocol='auto')
test_evaluator = val_evaluator
