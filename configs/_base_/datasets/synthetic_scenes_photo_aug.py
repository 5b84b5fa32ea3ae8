# A SyntheticScenes training pipeline with augmentations aimed at real
# photographs (issue 20 item 9: the tiny models, trained on 64 px rooms, do
# not transfer to real NYUv2): random brightness / contrast / saturation /
# hue (PhotoMetricDistortion), a random 1-1.4x zoom and a 48x64 crop (NYU's
# 3:4 aspect at the size the real-NYU configs process). Use:
#   _base_ = ['./<model>_tiny.py',
#             '../_base_/datasets/synthetic_scenes_photo_aug.py']
#   train_dataloader = dict(dataset=dict(
#       pipeline={{_base_.photo_aug_train_pipeline}}))
photo_aug_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='LoadNormal'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='RandomResize', scale=(64, 64), ratio_range=(1.0, 1.4)),
    dict(type='RandomCrop', crop_size=(48, 64)),
    dict(type='NormalizeDepth', min_quantile=0.02, max_quantile=0.98),
    dict(type='PadToMultiple', size_divisor=8),
    dict(type='PackDenseInputs'),
]
