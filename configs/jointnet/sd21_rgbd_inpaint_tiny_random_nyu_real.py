# sd21_rgbd_tiny_random_nyu_real.py for the inpainting control
# (sd21_rgbd_inpaint_tiny_random.py).
#   python tools/test.py configs/jointnet/sd21_rgbd_inpaint_tiny_random_nyu_real.py CKPT
_base_ = ['./sd21_rgbd_tiny_random_nyu_real.py']

model = dict(fusion=dict(masked_input=True))
