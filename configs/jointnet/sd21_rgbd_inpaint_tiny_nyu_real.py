# sd21_rgbd_tiny_nyu_real.py for the inpainting model
# (sd21_rgbd_inpaint_tiny.py or its _aug variant): rgb2j by channel-wise
# inpainting, the depth branch conditioned on the clean image latent, on
# the 50 real NYUv2 test images.
#   python tools/test.py configs/jointnet/sd21_rgbd_inpaint_tiny_nyu_real.py CKPT
_base_ = ['./sd21_rgbd_tiny_nyu_real.py']

model = dict(fusion=dict(masked_input=True))
