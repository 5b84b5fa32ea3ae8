# Shared data and schedule of the tiny family's text-to-image pretraining
# (pixart_tiny.py, unet_tiny.py): 64x64 SyntheticScenes with up to four
# objects and their captions; every scene is rendered once and cached.
_img = 64
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
    dataset=dict(type='SyntheticScenes', num_samples=20000, img_size=_img,
                 seed=0, max_objects=4, cache_size=20000,
                 pipeline=[dict(type='LoadImage'),
                           dict(type='PackDenseInputs')]))
# Generation is evaluated by tools/analysis_tools/eval_tiny_family.py
# (prompt following, FID against held-out scenes), not by a val loop.
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
