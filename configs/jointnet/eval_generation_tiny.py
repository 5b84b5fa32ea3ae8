# JointNet's "little degradation" claim at tiny size: the RGB of tiny
# JointNet's joint RGB-D samples (sd21_rgbd_tiny.py; 20 DDIM steps, CFG 3)
# for the captions of 256 held-out SyntheticScenes, against the plain tiny
# UNet (eval_generation_tiny_plain_unet.py), both scored by the Frechet
# distance of a fixed random conv net's features to the held-out scenes
# (no Inception weights offline; see RandomConvFeatures). Images cached in
# work_dirs/eval_generation_tiny/images.
#   python tools/test.py configs/jointnet/eval_generation_tiny.py CKPT
_base_ = ['./sd21_rgbd_tiny.py',
          '../_base_/datasets/scenes_prompts_tiny.py']

model = dict(_delete_=True, type='GenerationEvaluator',
             model={{_base_.model}},
             data_preprocessor=dict(type='DenseDataPreprocessor'),
             generate_kwargs=dict(num_inference_steps=20,
                                  guidance_scale=3.0),
             cache_dir='work_dirs/eval_generation_tiny/images', seed=0)
test_dataloader = dict(_base_.gen_tiny_test_dataloader, _delete_=True)
test_evaluator = _base_.gen_tiny_test_evaluator
test_cfg = dict(type='TestLoop')
default_hooks = dict(visualization=None)
