# sd21_rgbd_onestep_tiny.py scored on the real NYUv2 test samples of
# ../shared/data/realdata (the test part of sd21_rgbd_tiny_nyu_real.py).
#   python tools/test.py configs/jointnet/sd21_rgbd_onestep_tiny_nyu_real.py \
#       work_dirs/sd21_rgbd_onestep_tiny/iter_600.pth
_base_ = ['./sd21_rgbd_onestep_tiny.py', '../_base_/datasets/nyu_real_depth_test.py']

model = dict(estimator=dict(processing_res=64))
test_dataloader = {{_base_.nyu_real_depth_test_dataloader}}
test_evaluator = {{_base_.nyu_real_depth_test_evaluator}}
