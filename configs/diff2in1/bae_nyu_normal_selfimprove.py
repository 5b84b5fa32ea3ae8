# Diff-2-in-1 two-stage self-improving training on bae_nyu_normal.py: Bae's
# normal head (Table 1, the released instance). Stage 1 = bae_nyu_normal.py's
# recipe, stage 2 as long again on labelled + synthetic images (see
# _base_/selfimprove.py).
#   python tools/create_synthetic.py configs/diff2in1/bae_nyu_normal_selfimprove.py
#   python tools/train.py configs/diff2in1/bae_nyu_normal_selfimprove.py
# Captions by BLIP-2 (the paper; a local folder works offline), or from a
# JSON file {image file name: caption}: captions=dict(type='json', file=...).
_base_ = ['./bae_nyu_normal.py', './_base_/selfimprove.py']

_warmup = _base_.train_cfg.max_iters
_iters = 2 * _warmup
_alpha = _base_.si_ema_alpha

model = dict(_delete_=True, type='SelfImprovingEstimator',
             estimator={{_base_.model}})
_synthetic_dir = 'data/synthetic/nyu_normal_sd15'
synthetic_data = dict(
    out_dir=_synthetic_dir,
    generator=dict(unet={{_base_.unet}}, vae={{_base_.vae}},
                   text_encoder={{_base_.text_encoder}},
                   scheduler=_base_.si_sd_scheduler),
    # BLIP-2 captions (paper); or dict(type='json', file=...) / 'dataset'
    captions=dict(type='captioner',
                  model=dict(type='Blip2Captioner',
                             pretrained='Salesforce/blip2-opt-2.7b')),
    noise_timestep=600, num_inference_steps=50, seed=0, size=(512, 512))
train_dataloader = dict(
    batch_sampler=dict(type='SelfImprovingBatchSampler',
                       warmup_iters=_warmup),
    dataset=dict(
        _delete_=True, type='ConcatDataset',
        ignore_keys=_base_.si_concat_ignore_keys,
        datasets=[{{_base_.train_dataloader.dataset}},
                  dict(type='ImageCaptionDataset', data_root=_synthetic_dir,
                       unlabelled=True,
                       pipeline=[dict(type='LoadImage'),
                                 dict(type='RandomFlip', prob=0.5),
                                 dict(type='PackDenseInputs')])]))
custom_hooks = [dict(type='SelfImprovingHook', warmup_iters=_warmup,
                     ema_alpha=_alpha, ema_interval_samples=40)]
param_scheduler = [{k: (v * 2 if k in _base_.si_stretch_keys and
                        isinstance(v, int) else v)
                    for k, v in s.items()}
                   for s in _base_.param_scheduler]
train_cfg = dict(max_iters=_iters)
