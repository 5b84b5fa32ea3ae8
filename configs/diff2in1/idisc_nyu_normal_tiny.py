# idisc_nyu_normal.py at tiny sizes on SyntheticScenes (CPU): same code
# path; frozen parts, widths and data change (see _base_/tiny_parts.py).
_base_ = ['./idisc_nyu_normal.py', './_base_/tiny_parts.py']

model = dict(
    data_preprocessor=_base_.tiny_data_preprocessor,
    backbone=_base_.tiny_backbone,
    neck=dict(hidden_channels=16),
    head=dict(in_channels=(8, 16, 16, 32), hidden_dim=32, ffn_dim=64,
              decoder_depth=1, decoder_heads=2, num_points=2, num_latents=8,
              latent_dim=16),
    input_size=None)

train_dataloader = _base_.tiny_train_dataloader
val_dataloader = _base_.tiny_val_dataloader
test_dataloader = dict(val_dataloader)  # a copy: each carries _delete_
optim_wrapper = _base_.tiny_optim_wrapper
param_scheduler = _base_.tiny_param_scheduler
train_cfg = _base_.tiny_train_cfg
default_hooks = _base_.tiny_default_hooks
env_cfg = _base_.tiny_env_cfg
