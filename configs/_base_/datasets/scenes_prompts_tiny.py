# Tiny generation evaluation on the pretrained family, shared by
# configs/merge/eval_t2i_tiny.py and configs/jointnet/eval_generation_tiny.py:
# one prompt per caption of 256 held-out SyntheticScenes (seed 1000, never
# trained on), scored by the Frechet distance of a fixed random conv net's
# features to those scenes themselves (no Inception weights offline; see
# RandomConvFeatures), an Inception Score and a CLIP score on the family's
# scene classifier. A config uses them as
#   test_dataloader = dict(_base_.gen_tiny_test_dataloader, _delete_=True)
#   test_evaluator = _base_.gen_tiny_test_evaluator
gen_tiny_held_out = dict(type='SyntheticScenes', num_samples=256,
                         img_size=64, seed=1000, max_objects=4,
                         test_mode=True)
gen_tiny_test_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='PromptSetDataset', source=gen_tiny_held_out))
# Inception Score and CLIP score on the family's scene classifier
# (configs/pretrain/scene_classifier_tiny.py): IS over its 24 wall x floor
# colour classes, CLIP score between its attribute probabilities and the
# attributes each prompt names; figures compare these runs only
_scene_classifier = ('{{ fileDirname }}/../../../model_zoo/unidense-tiny/'
                     'scene_classifier')
gen_tiny_test_evaluator = [
    dict(type='FIDMetric',
         reference=dict(gen_tiny_held_out,
                        pipeline=[dict(type='LoadImage'),
                                  dict(type='PackDenseInputs')]),
         # 16 features: 256 samples estimate their covariance well (with 64
         # features and 64 samples real-vs-real scored above the generator)
         feature_extractor=dict(type='RandomConvFeatures', seed=0,
                                num_features=16)),
    dict(type='InceptionScoreMetric', splits=2,
         feature_extractor=dict(type='SceneClassifierLogits',
                                pretrained=_scene_classifier)),
    dict(type='CLIPScoreMetric',
         model=dict(type='SceneAttributeCLIP', pretrained=_scene_classifier),
         processor=dict(type='SceneCaptionProcessor',
                        pretrained=_scene_classifier)),
]
