# Tiny family, part 3d: the SD-style UNet continued on two CPU cores at
# batch 256, from the EMA weights of its second stage
# (unet_tiny_stage2.py, 3000 + 5000 iterations at batch 32): warm-up 200 +
# cosine from 4e-4 over 3500 iterations (900k samples). Exact commands
# (about 4 h beside the DiT's continuation):
#   python tools/model_converters/export_pretrained.py \
#       configs/pretrain/unet_tiny_stage2.py \
#       work_dirs/pretrain/unet_tiny_stage2/iter_5000.pth \
#       work_dirs/pretrain/unet_tiny_stage2/export
#   OMP_NUM_THREADS=1 python tools/train.py \
#       configs/pretrain/unet_tiny_large_batch_cpu.py \
#       --work-dir work_dirs/pretrain/unet_tiny_large_batch_cpu
# Iteration 3000's EMA (72 % prompt following; the last 500 iterations
# add nothing) is where unet_tiny_large_batch_cpu_stage2.py continues
# (keep that checkpoint, max_keep_ckpts drops it later):
#   python tools/model_converters/export_pretrained.py \
#       configs/pretrain/unet_tiny_large_batch_cpu.py \
#       work_dirs/pretrain/unet_tiny_large_batch_cpu/iter_3000.pth \
#       work_dirs/pretrain/unet_tiny_large_batch_cpu/export_3000
_base_ = ['./_t2i_tiny_large_batch_cpu.py']

start = '{{ fileDirname }}/../../work_dirs/pretrain/unet_tiny_stage2/export'
_iters = 3500
model = dict(denoiser=dict(type='UNet2DConditionModel',
                           from_pretrained=start, subfolder=None))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=200),
    dict(type='CosineAnnealingLR', T_max=_iters - 200, eta_min=1e-5,
         by_epoch=False, begin=200, end=_iters),
]
train_cfg = dict(max_iters=_iters)
