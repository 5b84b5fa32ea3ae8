"""One sample-field table drives transforms, packing, the data
preprocessor, DenseDataSample and the metrics' defaults: edge and
saliency-valid maps are padded like every other map."""
import numpy as np
import torch
from mmengine.dataset import pseudo_collate

from unidense.registry import MODELS, TRANSFORMS
from unidense.structures import (DENSE_FIELDS, GT_PIXEL_FIELDS, IGNORE_INDEX,
                                 SAMPLE_FIELDS, DenseDataSample,
                                 gt_pad_values)


def test_every_consumer_reads_the_one_table():
    import unidense.datasets  # noqa: F401
    import unidense.models  # noqa: F401
    from unidense.datasets.transforms import formatting, map_fields
    from unidense.evaluation.metrics.iou_metric import IoUMetric
    from unidense.models.data_preprocessors import dense_data_preprocessor
    assert set(map_fields.MAP_FIELDS) == {'img', *GT_PIXEL_FIELDS}
    for name in GT_PIXEL_FIELDS:
        field = SAMPLE_FIELDS[name]
        assert map_fields.MAP_FIELDS[name] == (field.kind, field.pad_value)
    assert formatting._MAPS == GT_PIXEL_FIELDS
    assert dense_data_preprocessor._GT_PAD == gt_pad_values()
    assert {'gt_edge', 'gt_saliency_valid'} <= set(GT_PIXEL_FIELDS)
    assert DENSE_FIELDS == {n: (f.channels, f.dtype)
                            for n, f in SAMPLE_FIELDS.items()}
    for name in SAMPLE_FIELDS:
        assert isinstance(getattr(DenseDataSample, name), property), name
    assert IoUMetric(num_classes=2).ignore_index == IGNORE_INDEX
    assert gt_pad_values()['gt_sem_seg'] == IGNORE_INDEX


def _results(h, w, seed):
    rng = np.random.default_rng(seed)
    return dict(
        img=rng.integers(0, 255, (h, w, 3), dtype=np.uint8),
        gt_depth=rng.random((h, w), dtype=np.float32) + 1,
        gt_saliency=rng.random((h, w), dtype=np.float32),
        gt_saliency_valid=np.ones((h, w), bool),
        gt_edge=(rng.random((h, w)) > 0.5).astype(np.float32),
        gt_sem_seg=np.zeros((h, w), np.int64), ori_shape=(h, w),
        img_shape=(h, w))


def test_edge_and_saliency_valid_are_padded_packed_and_batched():
    import unidense.datasets  # noqa: F401
    import unidense.models  # noqa: F401
    pad = TRANSFORMS.build(dict(type='PadToMultiple', size_divisor=8))
    pack = TRANSFORMS.build(dict(type='PackDenseInputs'))
    a = pack(pad(_results(12, 16, 0)))   # padded to 16 x 16 in the pipeline
    b = pack(pad(_results(24, 8, 1)))    # 24 x 8
    sample = a['data_samples']
    assert sample.gt_edge.data.shape == (1, 16, 16)
    assert sample.gt_saliency_valid.data.dtype == torch.bool
    assert not sample.gt_saliency_valid.data[0, 12:].any()
    assert sample.gt_edge.data[0, 12:].eq(0).all()
    pre = MODELS.build(dict(type='DenseDataPreprocessor'))
    out = pre(pseudo_collate([a, b]))['data_samples']
    for name in ('gt_depth', 'gt_saliency', 'gt_saliency_valid', 'gt_edge',
                 'gt_sem_seg'):
        maps = [getattr(s, name).data for s in out]
        assert all(m.shape == (1, 24, 16) for m in maps), name
    sa, sb = out
    # batch padding: bottom of a (16 -> 24), right of b (8 -> 16)
    assert not sa.gt_saliency_valid.data[0, 12:].any()
    assert sa.gt_saliency_valid.data[0, :12].all()
    assert not sb.gt_saliency_valid.data[0, :, 8:].any()
    assert sb.gt_edge.data[0, :, 8:].eq(0).all()
    assert sb.gt_sem_seg.data[0, :, 8:].eq(IGNORE_INDEX).all()


def test_saliency_metric_skips_invalid_pixels():
    from unidense.evaluation.metrics.saliency_metric import SaliencyMetric
    gt = torch.zeros(1, 4, 4)
    gt[:, :2] = 1
    pred = gt.clone()
    pred[:, 3] = 1.0  # wrong, but only in pixels marked invalid
    valid = torch.ones(1, 4, 4, dtype=torch.bool)
    valid[:, 3] = False

    def score(with_valid):
        s = DenseDataSample()
        s.gt_saliency, s.pred_saliency = gt, pred
        if with_valid:
            s.gt_saliency_valid = valid
        metric = SaliencyMetric(invpt_sigmoid=False)
        metric.process({}, [s.to_dict()])
        return metric.compute_metrics(metric.results)['maxF']

    assert score(True) == 100.0
    assert score(False) < 100.0
