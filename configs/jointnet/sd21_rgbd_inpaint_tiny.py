# sd21_rgbd_inpaint.py at tiny sizes: stage 2's recipe plus the masked-input
# convs; resumes from tiny stage 1. Evaluated as a depth estimator (rgb2j).
#   python tools/train.py configs/jointnet/sd21_rgbd_inpaint_tiny.py \
#       --cfg-options load_from=work_dirs/sd21_rgbd_tiny/iter_2000.pth
_base_ = ['./sd21_rgbd_stage2_tiny.py']

model = dict(
    fusion=dict(masked_input=True),
    mask_probs=dict(generate=0.5, keep=0.3, box=0.2))
