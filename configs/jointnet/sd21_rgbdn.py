# JointNet with two joint modalities at once - depth and surface normals,
# one trainable SD-2.1 copy each, both exchanging with the frozen RGB UNet
# (RGB is the hub: it receives the sum of both branches' sends). The paper
# names more modalities as future work; the official code takes one.
# Trainable: 2 x 865,910,724 + 4 x 11,491,520 = 1,777,787,528.
# Normals need a labeller or a dataset with `gt_normal` (the paper's
# Omnidata normal model is not in transformers): add
# `labellers=dict(normal=...)` or train on data that loads normals.
_base_ = ['./sd21_rgbd.py']

model = dict(fusion=dict(modalities=('depth', 'normal')))
