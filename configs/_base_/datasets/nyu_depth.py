# NYUv2 depth, Marigold protocol: 654 test images at native 640x480, GT in
# mm PNGs, valid (1e-3, 10) m, Eigen crop at evaluation (protocol 'nyu').
# See docs/dataset_prepare.md for the layout and split files.
# Training and evaluation parts together.
_base_ = ['./nyu_depth_train.py', './nyu_depth_eval.py']
