"""Property-based fuzzing (hypothesis) of transforms, metrics, LatentCodec,
pipelines and unidense.apis: random shapes, dtypes, NaN / inf, empty masks
and odd sizes give either a result without NaN in the aggregates or a clear
ValueError / TypeError, never another crash.

``FUZZ_EXAMPLES`` (default 40 per property) sets the budget; the number of
cases each property ran is printed at the end of the session (pytest -s)
and recorded in docs/reliability.md.
"""
import os
from collections import Counter

import numpy as np
import pytest
import torch

hypothesis = pytest.importorskip('hypothesis')
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

EXAMPLES = int(os.environ.get('FUZZ_EXAMPLES', 40))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
CASES = Counter()
CLEAR = (ValueError, TypeError)

sizes = st.integers(min_value=1, max_value=24)
floats = st.floats(allow_nan=True, allow_infinity=True, width=32)
finite = st.floats(-1e6, 1e6, allow_nan=False, width=32)


def maps(h, w, elements=floats, dtype=np.float32):
    return hnp.arrays(dtype, (h, w), elements=elements)


@pytest.fixture(scope='module', autouse=True)
def report_cases():
    yield
    print('\nfuzz cases run: ' + ', '.join(
        f'{k}={v}' for k, v in sorted(CASES.items())) +
        f'; total={sum(CASES.values())}')


# ------------------------------------------------------------------ metrics
@FUZZ
@given(st.data(), sizes, sizes)
def test_depth_metric(data, h, w):
    from unidense.evaluation import DepthMetric
    CASES['DepthMetric'] += 1
    pred = data.draw(maps(h, w))
    gt = data.draw(maps(h, w, st.one_of(st.just(0.0), floats)))
    alignment = data.draw(st.sampled_from(
        ['least_squares', 'least_squares_disparity', 'median_scale',
         'none']))
    metric = DepthMetric(alignment=alignment, min_depth=1e-3,
                         max_depth=80.0)
    sample = dict(pred_depth=dict(data=torch.from_numpy(pred)[None]),
                  gt_depth=dict(data=torch.from_numpy(gt)[None]),
                  img_path='fuzz.png')
    try:
        metric.process({}, [sample])
        out = metric.compute_metrics(metric.results)
    except CLEAR:
        return
    assert all(np.isfinite(v) for v in out.values()
               if isinstance(v, float)), out


@FUZZ
@given(st.data(), sizes, sizes)
def test_normal_and_saliency_metrics(data, h, w):
    from unidense.evaluation import NormalMetric, SaliencyMetric
    CASES['NormalMetric+SaliencyMetric'] += 1
    pred = data.draw(hnp.arrays(np.float32, (3, h, w), elements=floats))
    gt = data.draw(hnp.arrays(np.float32, (3, h, w), elements=floats))
    sal = data.draw(maps(h, w, st.one_of(st.just(255.0), floats)))
    for metric, sample in (
            (NormalMetric(), dict(
                pred_normal=dict(data=torch.from_numpy(pred)),
                gt_normal=dict(data=torch.from_numpy(gt)))),
            (SaliencyMetric(), dict(
                pred_saliency=dict(data=torch.from_numpy(pred[:1])),
                gt_saliency=dict(data=torch.from_numpy(sal)[None])))):
        sample['img_path'] = 'fuzz.png'
        try:
            metric.process({}, [sample])
            out = metric.compute_metrics(metric.results)
        except CLEAR:
            continue
        assert all(np.isfinite(v) for v in out.values()
                   if isinstance(v, float)), (type(metric).__name__, out)


@FUZZ
@given(st.data(), sizes, sizes, st.integers(1, 6))
def test_iou_metric(data, h, w, classes):
    from unidense.evaluation import IoUMetric
    CASES['IoUMetric'] += 1
    labels = st.one_of(st.integers(0, classes + 2), st.just(255))
    pred = data.draw(hnp.arrays(np.int64, (1, h, w), elements=labels))
    gt = data.draw(hnp.arrays(np.int64, (1, h, w), elements=labels))
    metric = IoUMetric(num_classes=classes)
    try:
        metric.process({}, [dict(pred_sem_seg=dict(data=torch.from_numpy(
            pred)), gt_sem_seg=dict(data=torch.from_numpy(gt)),
            img_path='fuzz.png')])
        out = metric.compute_metrics(metric.results)
    except CLEAR:
        return
    assert all(np.isfinite(v) for v in out.values()
               if isinstance(v, float)), out


# --------------------------------------------------------------- transforms
@FUZZ
@given(st.data(), sizes, sizes)
def test_geometric_transforms(data, h, w):
    from unidense.registry import TRANSFORMS
    CASES['transforms'] += 1
    img = data.draw(hnp.arrays(np.uint8, (h, w, 3)))
    depth = data.draw(maps(h, w))
    cfg = data.draw(st.sampled_from([
        dict(type='Resize', scale_factor=0.37),
        dict(type='Resize', max_side=7),
        dict(type='RandomCrop', crop_size=(5, 9)),
        dict(type='RandomFlip', prob=1.0),
        dict(type='PadToMultiple', size_divisor=8),
        dict(type='NormalizeDepth'),
    ]))
    results = dict(img=img, gt_depth=depth, img_shape=(h, w),
                   ori_shape=(h, w), gt_depth_valid=np.isfinite(depth) &
                   (depth > 0), img_path='fuzz.png')
    try:
        out = TRANSFORMS.build(cfg)(results)
    except CLEAR:
        return
    if out is not None and 'gt_depth_norm' in out:
        assert np.isfinite(out['gt_depth_norm']).all()


# --------------------------------------------------- pipelines and the codec
@FUZZ
@given(st.data(), st.integers(1, 5), sizes, sizes)
def test_ensemble_depth(data, members, h, w):
    from unidense.pipelines import ensemble_depth
    CASES['ensemble_depth'] += 1
    depth = torch.from_numpy(data.draw(hnp.arrays(
        np.float32, (members, 1, h, w), elements=st.one_of(finite, floats))))
    solver = data.draw(st.sampled_from(['diffusers', 'analytic']))
    try:
        out, _ = ensemble_depth(depth, solver=solver, max_res=16)
    except CLEAR:
        return
    assert torch.isfinite(out).all()


@pytest.fixture(scope='module')
def codec():
    from unidense.diffusion import LatentCodec
    from unidense.models.pretrainers.tiny_family import load_part
    return LatentCodec(load_part('vae'))


@settings(parent=FUZZ, max_examples=max(5, EXAMPLES // 4))
@given(st.data(), st.integers(1, 2), sizes, sizes)
def test_latent_codec(codec, data, batch, h, w):
    CASES['LatentCodec'] += 1
    kind = data.draw(st.sampled_from(['rgb', 'depth', 'normal']))
    channels = dict(rgb=3, depth=1, normal=3)[kind]
    x = torch.from_numpy(data.draw(hnp.arrays(
        np.float32, (batch, channels, h * 4, w * 4),
        elements=st.floats(-1, 1, width=32))))
    with torch.no_grad():
        try:
            z = getattr(codec, f'encode_{kind}')(x)
            y = getattr(codec, f'decode_{kind}')(z)
        except CLEAR:
            return
    assert torch.isfinite(y).all()


@FUZZ
@given(st.data(), sizes, sizes, st.integers(0, 40), st.integers(1, 16))
def test_processing_resolution(data, h, w, res, multiple):
    from unidense.pipelines import (resize_to_processing_res,
                                    restore_to_input_size)
    CASES['processing_res'] += 1
    x = torch.rand(1, 3, h, w)
    try:
        y, size = resize_to_processing_res(x, processing_res=res,
                                           multiple=multiple)
    except CLEAR:
        return
    assert y.shape[-1] % multiple == 0 and y.shape[-2] % multiple == 0
    assert restore_to_input_size(y, size).shape[-2:] == (h, w)


# --------------------------------------------------------------------- apis
@FUZZ
@given(st.data())
def test_api_inputs(data):
    from unidense.apis import load_inputs
    CASES['apis.load_inputs'] += 1
    dtype = data.draw(st.sampled_from([np.uint8, np.uint16, np.float32,
                                       np.float64, np.int32, np.bool_]))
    shape = data.draw(st.one_of(
        st.tuples(sizes, sizes),
        st.tuples(sizes, sizes, st.integers(1, 5)),
        st.tuples(st.integers(0, 3), sizes, sizes, st.integers(1, 4))))
    arr = data.draw(hnp.arrays(dtype, shape))
    try:
        items = load_inputs(arr)
    except CLEAR:
        return
    for item in items:
        assert item.rgb.dtype == np.float32 and item.rgb.shape[2] == 3
        assert np.isfinite(item.rgb).all()
        assert item.rgb.min() >= 0 and item.rgb.max() <= 1
