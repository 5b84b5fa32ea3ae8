# vpd_nyu_depth.py at tiny sizes on SyntheticScenes (CPU): same code path;
# frozen VAE / text encoder, the (fine-tuned) UNet, widths and data change.
# SyntheticScenes has no scene category, so the context is all class tokens.
_base_ = ['./vpd_nyu_depth.py', './_base_/tiny_parts.py']

model = dict(
    data_preprocessor=_base_.tiny_data_preprocessor,
    backbone=dict(_base_.tiny_backbone,
                  text_adapter=dict(dim=_base_.tiny_text_dim)),
    head=dict(in_channels=_base_.tiny_vpd_depth_channels, embed_dim=32,
              num_filters=8, deconv_channels=16, max_depth=20.0))

train_dataloader = _base_.tiny_train_dataloader
val_dataloader = _base_.tiny_val_dataloader
test_dataloader = dict(val_dataloader)  # a copy: each carries _delete_
# exact metric depth of the rendered rooms, no alignment
val_evaluator = dict(_delete_=True, type='DepthMetric', alignment='none',
                     min_depth=1e-3, max_depth=20.0)
test_evaluator = dict(val_evaluator)
optim_wrapper = dict(_base_.tiny_optim_wrapper, paramwise_cfg=dict(
    custom_keys={'backbone.unet': dict(lr_mult=0.1)}))
param_scheduler = _base_.tiny_param_scheduler
train_cfg = _base_.tiny_train_cfg
default_hooks = _base_.tiny_default_hooks
env_cfg = _base_.tiny_env_cfg
