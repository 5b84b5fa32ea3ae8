# Tiny family, part 3b: the SD-style UNet of unet_tiny.py trained further.
# Stage 1 (unet_tiny.py) ran its 3000-iteration cosine; this
# stage starts from stage 1's exported EMA weights (the diffusers folder
# export_pretrained.py writes) and runs a fresh warm-up + cosine at a lower
# peak learning rate on the same data. Exact commands:
#   python tools/model_converters/export_pretrained.py \
#       configs/pretrain/unet_tiny.py \
#       work_dirs/pretrain/unet_tiny/iter_3000.pth \
#       work_dirs/pretrain/unet_tiny/stage1_export
#   python tools/train.py configs/pretrain/unet_tiny_stage2.py \
#       --work-dir work_dirs/pretrain/unet_tiny_stage2
#   python tools/model_converters/export_pretrained.py \
#       configs/pretrain/unet_tiny_stage2.py \
#       work_dirs/pretrain/unet_tiny_stage2/iter_5000.pth \
#       model_zoo/unidense-tiny/unet
_base_ = ['./_t2i_tiny_common.py']

stage1_export = '{{ fileDirname }}/../../work_dirs/pretrain/unet_tiny/stage1_export'
_iters = 5000
model = dict(denoiser=dict(type='UNet2DConditionModel',
                           from_pretrained=stage1_export))
optim_wrapper = dict(optimizer=dict(lr=2e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=100),
    dict(type='CosineAnnealingLR', T_max=_iters - 100, eta_min=5e-6,
         by_epoch=False, begin=100, end=_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=_iters)
# a different data order than stage 1
train_dataloader = dict(sampler=dict(seed=1))
