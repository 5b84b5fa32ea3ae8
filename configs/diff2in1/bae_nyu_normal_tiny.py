# bae_nyu_normal.py at tiny sizes on SyntheticScenes (CPU, ~40 iterations):
# same code path; the frozen UNet / VAE / text encoder, the head widths and
# the data change (see _base_/tiny_parts.py).
_base_ = ['./bae_nyu_normal.py', './_base_/tiny_parts.py']

model = dict(
    data_preprocessor=_base_.tiny_data_preprocessor,
    backbone=_base_.tiny_backbone,
    neck=dict(hidden_channels=16),
    # Bae's decoder with its widths / 16
    head=dict(in_channels=(8, 8, 16, 16, 64), up_channels=(32, 32, 16, 16),
              mlp_channels=16),
    input_size=None)

train_dataloader = _base_.tiny_train_dataloader
val_dataloader = _base_.tiny_val_dataloader
test_dataloader = dict(val_dataloader)  # a copy: each carries _delete_
optim_wrapper = _base_.tiny_optim_wrapper
param_scheduler = _base_.tiny_param_scheduler
train_cfg = _base_.tiny_train_cfg
default_hooks = _base_.tiny_default_hooks
env_cfg = _base_.tiny_env_cfg
