# Diff-2-in-1's self-improving training applied to MERGE (a combination no
# official code offers): pixart_depth_tiny.py for 500 warm-up + 500
# self-improving iterations. The synthetic images come from MERGE's own
# frozen tiny DiT in text-to-image mode (SDEdit re-generations of 256
# training scenes); the creation copy of the converters labels them with
# its depth (1 trailing DDIM step, ensemble 5, as the model evaluates).
#   python tools/create_synthetic.py configs/merge/pixart_depth_selfimprove_tiny.py
#   python tools/train.py configs/merge/pixart_depth_selfimprove_tiny.py
_base_ = ['./pixart_depth_tiny.py',
          '../diff2in1/_base_/selfimprove_tiny.py']

_warmup = 500
_iters = 1000
_synthetic_dir = 'work_dirs/synthetic/scenes64_tiny_dit'
model = dict(_delete_=True, type='SelfImprovingEstimator',
             estimator={{_base_.model}})
# generator None: MERGE's own DiT, VAE, text encoder and T2I scheduler
synthetic_data = dict(_base_.si_synthetic_data, out_dir=_synthetic_dir,
                      generator=None, num_images=256)
train_dataloader = dict(
    batch_sampler=dict(type='SelfImprovingBatchSampler',
                       warmup_iters=_warmup, seed=0),
    dataset=dict(_delete_=True, type='ConcatDataset',
                 ignore_keys=_base_.si_concat_ignore_keys,
                 datasets=[{{_base_.train_dataloader.dataset}},
                           dict(_base_.si_synthetic_dataset,
                                data_root=_synthetic_dir)]))
# 500 stage-2 iterations at batch 8: 100 EMA updates; a quarter-of-stage-2
# horizon as the paper's 0.998 (see _base_/selfimprove_tiny.py) is 0.96
custom_hooks = [dict(type='SelfImprovingHook', warmup_iters=_warmup,
                     ema_alpha=0.96, ema_interval_samples=40)]
