"""The scene classifier behind the tiny Inception Score and CLIP score
(model_zoo/unidense-tiny/scene_classifier): captions and scenes give the
same labels, the pretrainer learns, the shipped net reads held-out scenes,
and the two metrics built on it behave as IS and CLIP score should."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

import unidense.models  # noqa: F401
from unidense.datasets.synthetic_scenes import SyntheticScenes
from unidense.models.pretrainers.scene_classifier import (
    SceneAttributeNet, SceneClassifierPretrainer)
from unidense.registry import METRICS
from unidense.structures import DenseDataSample

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHIPPED = osp.join(REPO, 'model_zoo', 'unidense-tiny', 'scene_classifier')


def _scenes(num, seed, size=64):
    scenes = SyntheticScenes(num_samples=num, img_size=size, seed=seed,
                             max_objects=4)
    rendered = [scenes.render(i) for i in range(num)]
    images = torch.from_numpy(np.stack([r['img'] for r in rendered])
                              ).permute(0, 3, 1, 2).contiguous()
    return images, rendered


def test_caption_and_scene_give_the_same_attributes():
    _, rendered = _scenes(200, seed=7, size=8)
    for r in rendered:
        assert SyntheticScenes.attributes_of_caption(r['caption']) == \
            SyntheticScenes.attributes_of_scene(r['scene']), r['caption']
    unknown = SyntheticScenes.attributes_of_caption('a photo of a cat')
    assert unknown['walls'] is None and unknown['object_kinds'] == []


def _samples(rendered):
    samples = []
    for r in rendered:
        sample = DenseDataSample()
        sample.set_metainfo(dict(scene=r['scene']))
        samples.append(sample)
    return samples


def test_pretrainer_learns_and_predicts_what_the_accuracy_metric_reads():
    torch.manual_seed(0)
    images, rendered = _scenes(16, seed=3, size=16)
    model = SceneClassifierPretrainer(net=dict(widths=[8, 16],
                                               image_size=16))
    inputs = images.float() / 127.5 - 1
    samples = _samples(rendered)
    optim = torch.optim.AdamW(model.parameters(), lr=1e-2)
    first = None
    for _ in range(40):
        losses = model.loss(inputs, samples)
        assert set(losses) == {f'loss_{k}' for k in SyntheticScenes.ATTRIBUTES}
        total = sum(losses.values())
        first = float(total.detach()) if first is None else first
        optim.zero_grad()
        total.backward()
        optim.step()
    assert float(total.detach()) < 0.5 * first
    model.predict(inputs, samples)
    metric = METRICS.build(dict(type='AttributeAccuracy'))
    metric.process(None, samples)
    scores = metric.compute_metrics(metric.results)
    assert scores['walls'] > 80 and scores['num_images'] == 16
    # the class layout travels in the net's config
    assert [name for name, _ in model.net.config.attributes] == list(
        SyntheticScenes.ATTRIBUTES)
    with pytest.raises(KeyError, match='scene'):
        model.loss(inputs[:1], [DenseDataSample()])


def test_attribute_accuracy_counts_sets_whole():
    metric = METRICS.build(dict(type='AttributeAccuracy'))
    gt = dict(walls='red', object_kinds=['box', 'sphere'])
    metric.process(None, [
        dict(metainfo=dict(gt_attributes=gt, pred_attributes=dict(
            walls='red', object_kinds=['sphere', 'box']))),
        dict(metainfo=dict(gt_attributes=gt, pred_attributes=dict(
            walls='blue', object_kinds=['box'])))])
    scores = metric.compute_metrics(metric.results)
    assert scores['walls'] == 50 and scores['object_kinds'] == 50
    assert scores['mean'] == 50
    with pytest.raises(KeyError, match='sample 0'):
        metric.process(None, [dict(metainfo=dict(gt_attributes=gt))])


def test_shipped_classifier_reads_held_out_scenes():
    net = SceneAttributeNet.load_frozen(SHIPPED)
    images, rendered = _scenes(64, seed=1000)
    read = net.read(images)
    parts = net.split(net(images.float() / 127.5 - 1))
    gts = [SyntheticScenes.attributes_of_scene(r['scene']) for r in rendered]
    for name, minimum in (('walls', 95), ('floor', 90), ('brightness', 80)):
        names = net.class_names[name]
        assert read[name] == [names[i] for i in
                              parts[name].argmax(1).tolist()]
        accuracy = 100 * np.mean([p == g[name] for p, g in
                                  zip(read[name], gts)])
        assert accuracy >= minimum, (name, accuracy)
    # multi-label: sorted class lists, as attributes_of_scene gives them
    kinds = read['object_kinds']
    assert all(k == sorted(k) and set(k) <= {'box', 'sphere', 'cylinder'}
               for k in kinds)
    assert list(net.read(images[:2].float() / 255, ['walls'])) == ['walls']


def test_eval_tool_reads_prompt_following_with_the_classifier():
    from tools.analysis_tools.eval_tiny_family import classifier_accuracy
    net = SceneAttributeNet.load_frozen(SHIPPED)
    images, rendered = _scenes(40, seed=2000)
    hwc = images.permute(0, 2, 3, 1).numpy()
    scenes = [r['scene'] for r in rendered]
    right = classifier_accuracy(net, hwc, scenes)
    assert right['both'] >= 0.9 and right['walls'] >= right['both']
    # images paired with other scenes' captions: mostly wrong
    wrong = classifier_accuracy(net, hwc, scenes[1:] + scenes[:1])
    assert wrong['both'] < 0.3, wrong


def _metric(cfg):
    init_default_scope('unidense')
    return METRICS.build(cfg)


def _score(metric, images, captions):
    metric.process(None, [dict(pred_img=img, caption=cap)
                          for img, cap in zip(images, captions)])
    return metric.evaluate(len(images))


def test_inception_score_and_clip_score_on_the_shipped_classifier():
    images, rendered = _scenes(64, seed=3000)
    captions = [r['caption'] for r in rendered]
    inception = dict(type='InceptionScoreMetric', splits=1,
                     feature_extractor=dict(type='SceneClassifierLogits',
                                            pretrained=SHIPPED))
    real = _score(_metric(inception), images, captions)['gen/is']
    same = _score(_metric(inception), images[:1].repeat(64, 1, 1, 1),
                  captions)['gen/is']
    assert same == pytest.approx(1.0, abs=1e-4)
    assert real > 6, real        # 24 classes, 64 scenes
    clip = dict(type='CLIPScoreMetric',
                model=dict(type='SceneAttributeCLIP', pretrained=SHIPPED),
                processor=dict(type='SceneCaptionProcessor',
                               pretrained=SHIPPED))
    matching = _score(_metric(clip), images, captions)['gen/clip_score']
    shifted = _score(_metric(clip), images,
                     captions[1:] + captions[:1])['gen/clip_score']
    assert matching > shifted + 15, (matching, shifted)
    with pytest.raises(ValueError, match='single-label'):
        _metric(dict(type='InceptionScoreMetric', feature_extractor=dict(
            type='SceneClassifierLogits', pretrained=SHIPPED,
            attributes=['walls', 'object_kinds'])))


def test_reference_tool_prints_real_scene_figures(capsys):
    from tools.analysis_tools import scene_metrics_reference
    rows = scene_metrics_reference.main(['--num', '32'])
    assert {'gen/fid', 'gen/is', 'gen/clip_score'} <= set(rows[0])
    assert rows[1]['gen/clip_score'] < rows[0]['gen/clip_score']
    assert capsys.readouterr().out.count('\n') == 2
