# Tiny family, part 2c: the shipped PixArt DiT (transformer/, 9,500
# iterations at batch 32) trained further at batch 256 on 60,000 scenes
# (_t2i_tiny_large_batch.py): warm-up 200 + cosine from 4e-4 over 4000
# iterations, ~1M samples. Run on one GPU (commands and wall time in
# model_zoo/unidense-tiny/README.md):
#   python tools/train.py configs/pretrain/pixart_tiny_large_batch.py \
#       --work-dir work_dirs/pretrain/pixart_tiny_large_batch
#   python tools/model_converters/export_pretrained.py \
#       configs/pretrain/pixart_tiny_large_batch.py \
#       work_dirs/pretrain/pixart_tiny_large_batch/iter_4000.pth \
#       model_zoo/unidense-tiny/transformer
_base_ = ['./_t2i_tiny_large_batch.py']

model = dict(denoiser=dict(type='PixArtTransformer2DModel',
                           from_pretrained={{_base_.zoo}},
                           subfolder='transformer'))
