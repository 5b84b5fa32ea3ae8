# MERGE's claim that text-to-image is untouched, measured: the tiny MERGE
# (pixart_depth_tiny.py) in T2I mode - the frozen tiny DiT - generates one
# image per caption of 256 held-out SyntheticScenes (25 DDIM steps, CFG 3,
# seed + prompt index), cached in work_dirs/eval_t2i_tiny/images (a rerun
# reuses them), and is scored by the Frechet distance of a fixed random
# conv net's features to the 256 held-out scenes themselves (no Inception
# weights offline; see RandomConvFeatures).
#   python tools/test.py configs/merge/eval_t2i_tiny.py [CKPT]
# Without CKPT: the untrained converters (T2I does not use them); with a
# trained MERGE checkpoint the figure must be the same.
_base_ = ['./pixart_depth_tiny.py',
          '../_base_/datasets/scenes_prompts_tiny.py']

model = dict(_delete_=True, type='GenerationEvaluator',
             model={{_base_.model}},
             data_preprocessor=dict(type='DenseDataPreprocessor'),
             generate_kwargs=dict(num_inference_steps=25,
                                  guidance_scale=3.0),
             cache_dir='work_dirs/eval_t2i_tiny/images', seed=0)
test_dataloader = dict(_base_.gen_tiny_test_dataloader, _delete_=True)
test_evaluator = _base_.gen_tiny_test_evaluator
test_cfg = dict(type='TestLoop')
default_hooks = dict(visualization=None)
