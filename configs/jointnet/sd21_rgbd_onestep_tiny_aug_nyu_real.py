# sd21_rgbd_onestep_tiny_aug.py scored on the real NYUv2 test samples of
# ../shared/data/realdata, as sd21_rgbd_onestep_tiny_nyu_real.py scores the
# unaugmented model.
#   python tools/test.py configs/jointnet/sd21_rgbd_onestep_tiny_aug_nyu_real.py \
#       work_dirs/sd21_rgbd_onestep_tiny_aug/iter_600.pth
_base_ = ['./sd21_rgbd_onestep_tiny_aug.py',
          '../_base_/datasets/nyu_real_depth_test.py']

model = dict(estimator=dict(processing_res=64))
test_dataloader = {{_base_.nyu_real_depth_test_dataloader}}
test_evaluator = {{_base_.nyu_real_depth_test_evaluator}}
