# Runtime shared by every unidense config (mmsegmentation 1.x layout).
default_scope = 'unidense'
# UnidenseRunner: gloo on CPU-only machines, bf16 autocast for --amp on CPU,
# atomic + marked checkpoints holding only trainable weights, safe loading,
# exact resume (random state saved per rank).
runner_type = 'UnidenseRunner'

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on GPU machines; UnidenseRunner switches to gloo when no CUDA.
    dist_cfg=dict(backend='nccl'),
)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='AtomicCheckpointHook',
        by_epoch=False,
        interval=2000,
        max_keep_ckpts=3,
        save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # test panels with tools/test.py --show-dir; 4 validation panels per
    # validation run (RGB | ground truth | prediction) during training
    visualization=dict(type='DenseVisualizationHook', draw=False,
                       val_panels=4),
)

# local PNGs under work_dir/<timestamp>/vis_data, TensorBoard when installed
vis_backends = [dict(type='LocalVisBackend'),
                dict(type='OptionalTensorboardVisBackend')]
visualizer = dict(
    type='Visualizer', vis_backends=vis_backends, name='visualizer')

log_processor = dict(by_epoch=False, window_size=50)
log_level = 'INFO'

load_from = None
resume = False
# Pickle checkpoints unidense did not write are refused unless True
# (tools/train.py / tools/test.py --trust-checkpoint).
trust_checkpoint = False
# Checkpoints hold trainable parameters only; frozen pretrained weights are
# rebuilt from the model config. True also saves the frozen ones.
save_frozen_weights = False

randomness = dict(seed=0, diff_rank_seed=False, deterministic=False)
