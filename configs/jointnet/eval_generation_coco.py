# JointNet Table 1: the RGB of joint RGB-D samples (sd21_rgbd.py after
# stage 1 or sd21_rgbd_stage2.py; DDIM 50, CFG 7.5) for 30K MS-COCO
# val2014 captions (seed 0), cached under
# work_dirs/eval_generation_coco/images (resumable, sharded by
# tools/dist_test.sh), scored by FID (precomputed val2014 statistics),
# Inception Score and CLIP score (ViT-L/14). Local files as in
# configs/merge/eval_t2i_coco.py.
#   python tools/test.py configs/jointnet/eval_generation_coco.py CKPT
_base_ = ['./sd21_rgbd.py']

_inception = 'checkpoints/pt_inception-2015-12-05-6726825d.pth'
model = dict(_delete_=True, type='GenerationEvaluator',
             model={{_base_.model}},
             data_preprocessor=dict(type='DenseDataPreprocessor'),
             generate_kwargs=dict(num_inference_steps=50,
                                  guidance_scale=7.5),
             cache_dir='work_dirs/eval_generation_coco/images', seed=0)
test_dataloader = dict(
    _delete_=True, batch_size=4, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='PromptSetDataset',
                 ann_file='data/coco/annotations/captions_val2014.json',
                 num_prompts=30000, seed=0))
test_evaluator = [
    dict(type='FIDMetric', reference='data/coco/fid_stats_val2014.npz',
         inception_weights=_inception),
    dict(type='InceptionScoreMetric', inception_weights=_inception),
    dict(type='CLIPScoreMetric',
         clip_model='checkpoints/clip-vit-large-patch14'),
]
test_cfg = dict(type='TestLoop')
default_hooks = dict(visualization=None)
