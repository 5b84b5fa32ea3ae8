# The scene classifier behind the tiny generation metrics: a small CNN that
# reads SyntheticScenes' caption attributes from a 64x64 image (wall and
# floor colour, brightness, light colour; the sets of object colours and
# kinds; read at 32x32, antialiased), trained on scenes seeded apart from
# the held-out ones. It gives
# InceptionScoreMetric its classes (wall x floor colour) and CLIPScoreMetric
# its image / caption embeddings (configs/_base_/datasets/
# scenes_prompts_tiny.py), since no Inception or CLIP weights exist offline.
#   python tools/train.py configs/pretrain/scene_classifier_tiny.py \
#       --work-dir work_dirs/pretrain/scene_classifier_tiny
#   python tools/model_converters/export_pretrained.py \
#       configs/pretrain/scene_classifier_tiny.py \
#       work_dirs/pretrain/scene_classifier_tiny/iter_2000.pth \
#       model_zoo/unidense-tiny/scene_classifier
#   python tools/test.py configs/pretrain/scene_classifier_tiny.py \
#       work_dirs/pretrain/scene_classifier_tiny/iter_2000.pth
# Model zoo figures: model_zoo/unidense-tiny/README.md.
_base_ = ['../_base_/default_runtime.py']

_iters = 2000
_img = 64
_meta_keys = ('sample_idx', 'ori_shape', 'img_shape', 'flip',
              'flip_direction', 'dataset_name', 'scene')

model = dict(
    type='SceneClassifierPretrainer',
    data_preprocessor=dict(type='DenseDataPreprocessor'),
    net=dict(widths=[32, 64, 128], image_size=32))

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
    # seed 0 (the family's training scenes); flips change no attribute
    dataset=dict(type='SyntheticScenes', num_samples=8000, img_size=_img,
                 seed=0, max_objects=4, cache_size=8000,
                 pipeline=[dict(type='LoadImage'),
                           dict(type='RandomFlip', prob=0.5),
                           dict(type='PackDenseInputs',
                                meta_keys=_meta_keys)]))
# held-out: the scenes the tiny generation metrics compare against (seed 1000)
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SyntheticScenes', num_samples=512, img_size=_img,
                 seed=1000, max_objects=4, test_mode=True,
                 pipeline=[dict(type='LoadImage'),
                           dict(type='PackDenseInputs',
                                meta_keys=_meta_keys)]))
test_dataloader = val_dataloader
val_evaluator = dict(type='AttributeAccuracy')
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.99),
                   weight_decay=1e-4),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=100),
    dict(type='CosineAnnealingLR', T_max=_iters - 100, eta_min=1e-5,
         by_epoch=False, begin=100, end=_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=_iters,
                 val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    checkpoint=dict(interval=500, max_keep_ckpts=2, save_last=True),
    logger=dict(interval=50),
    visualization=None)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
