# Evaluate a tiny JointNet stage-1 checkpoint (sd21_rgbd_tiny.py, trained on
# 64x64 SyntheticScenes) as an rgb2j depth estimator on the 50 real NYUv2
# test images in ../shared/data/realdata/nyu_depth_v2/nyu2_test, with the
# Marigold NYU protocol (least-squares scale and shift, 1e-3..10 m, Eigen
# crop at 640x480). The model sees each image at 64 px on the long side (48
# x 64, its training scale); the prediction is resized back.
#   python tools/test.py configs/jointnet/sd21_rgbd_tiny_nyu_real.py CKPT
# The random-UNet control: sd21_rgbd_tiny_random_nyu_real.py.
_base_ = ['./sd21_rgbd_tiny.py', '../_base_/datasets/nyu_real_depth_test.py']

model = dict(processing_res=64)
test_dataloader = {{_base_.nyu_real_depth_test_dataloader}}
test_evaluator = {{_base_.nyu_real_depth_test_evaluator}}
