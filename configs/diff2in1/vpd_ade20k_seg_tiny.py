# vpd_ade20k_seg.py at tiny sizes on SyntheticScenes (CPU): same code path;
# frozen VAE / text encoder, the (fine-tuned) UNet, widths and data change.
# The class names are SyntheticScenes' 6 classes, so the attention maps add
# 6 channels at the 2nd and 3rd level.
_base_ = ['./vpd_ade20k_seg.py', './_base_/tiny_parts.py']

model = dict(
    data_preprocessor=_base_.tiny_data_preprocessor,
    backbone=dict(
        _base_.tiny_backbone,
        class_names=('floor', 'wall', 'ceiling', 'box', 'sphere',
                     'cylinder'),
        text_adapter=dict(dim=_base_.tiny_text_dim)),
    head=dict(in_channels=_base_.tiny_vpd_seg_channels, channels=16,
              num_classes=6))

train_dataloader = _base_.tiny_train_dataloader
val_dataloader = _base_.tiny_val_dataloader
test_dataloader = dict(val_dataloader)  # a copy: each carries _delete_
val_evaluator = dict(_delete_=True, type='IoUMetric')
test_evaluator = dict(val_evaluator)
optim_wrapper = dict(_base_.tiny_optim_wrapper, paramwise_cfg=dict(
    custom_keys={'backbone.unet': dict(lr_mult=0.1)}))
param_scheduler = _base_.tiny_param_scheduler
train_cfg = _base_.tiny_train_cfg
default_hooks = _base_.tiny_default_hooks
env_cfg = _base_.tiny_env_cfg
