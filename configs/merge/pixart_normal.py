# MERGE-B's normal-estimation extension: the grouped converters of
# pixart_depth.py on the frozen PixArt-alpha XL-2-512 DiT, trained to
# denoise the VAE latent of the surface-normal map (unit xyz as a 3-channel
# image in [-1, 1], the normal latents of LatentCodec); the prediction is
# the decoded map renormalised per pixel (ensemble: mean, renormalised).
# Data and protocol: NYUv2 normals in Bae et al.'s layout (795 train / 654
# test, pooled angular errors at 480x640), as Diff-2-in-1's normal configs.
#   python tools/train.py configs/merge/pixart_normal.py
_base_ = ['./pixart_depth.py', '../_base_/datasets/nyu_normal.py']

model = dict(task='normal', processing_res=None)
train_dataloader = dict(_base_.nyu_normal_train_dataloader, _delete_=True,
                        batch_size=4)
val_dataloader = dict(_base_.nyu_normal_test_dataloader, _delete_=True)
test_dataloader = val_dataloader
val_evaluator = dict(_base_.nyu_normal_evaluator, _delete_=True)
test_evaluator = val_evaluator
