# Tiny family, part 2d: the PixArt DiT continued on two CPU cores at batch
# 256, from the raw weights of the 1300-iteration CPU run of
# pixart_tiny_large_batch.py (command in model_zoo/unidense-tiny/README.md):
# warm-up 100 + cosine from 3e-4 over 2500 iterations (640k samples), a new
# data order. Exact commands (about 3 h beside the UNet's continuation):
#   python tools/model_converters/export_pretrained.py \
#       configs/pretrain/pixart_tiny_large_batch.py \
#       work_dirs/pretrain/pixart_tiny_large_batch_cpu/iter_1300.pth \
#       work_dirs/pretrain/pixart_tiny_large_batch_cpu/export_raw --no-ema
#   OMP_NUM_THREADS=1 python tools/train.py \
#       configs/pretrain/pixart_tiny_large_batch_cpu.py \
#       --work-dir work_dirs/pretrain/pixart_tiny_large_batch_cpu_cont
#   python tools/model_converters/export_pretrained.py \
#       configs/pretrain/pixart_tiny_large_batch_cpu.py \
#       work_dirs/pretrain/pixart_tiny_large_batch_cpu_cont/iter_2500.pth \
#       model_zoo/unidense-tiny/transformer
_base_ = ['./_t2i_tiny_large_batch_cpu.py']

start = '{{ fileDirname }}/../../work_dirs/pretrain/' \
    'pixart_tiny_large_batch_cpu/export_raw'
_iters = 2500
model = dict(denoiser=dict(type='PixArtTransformer2DModel',
                           from_pretrained=start, subfolder=None))
optim_wrapper = dict(optimizer=dict(lr=3e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=100),
    dict(type='CosineAnnealingLR', T_max=_iters - 100, eta_min=1e-5,
         by_epoch=False, begin=100, end=_iters),
]
train_cfg = dict(max_iters=_iters)
train_dataloader = dict(sampler=dict(seed=3))
