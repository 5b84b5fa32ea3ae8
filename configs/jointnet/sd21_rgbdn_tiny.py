# sd21_rgbdn.py at tiny sizes: depth and normal branches around the tiny
# family's UNet, on SyntheticScenes (exact camera-frame normals; the
# training part already loads them and RandomFlip negates their x).
_base_ = ['./sd21_rgbd_tiny.py']

model = dict(fusion=dict(modalities=('depth', 'normal')))
