# JointNet inpainting model (paper §4.1, the released rgbd_inpaint_sd21b):
# resumes from stage 1 and trains as stage 2 (everything, lr 1e-5, text
# dropout 50 %) with masked-input conditioning: per branch a zero-init 3x3
# conv over [own mask, own masked latent, other mask, other masked latent]
# (10 -> 320 channels) added to conv_in's output. Masks are drawn per
# sample and branch (all generate / all keep / a random box; never all
# kept), which teaches channel-wise inpainting: rgb2j (depth estimation)
# and j2rgb (depth-to-image). Trainable: 1,754,862,728.
#   python tools/train.py configs/jointnet/sd21_rgbd_inpaint.py \
#       --cfg-options load_from=work_dirs/sd21_rgbd/iter_10000.pth
_base_ = ['./sd21_rgbd_stage2.py']

model = dict(
    fusion=dict(masked_input=True),
    mask_probs=dict(generate=0.5, keep=0.3, box=0.2))
