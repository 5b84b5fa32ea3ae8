"""Depth metric with the published alignment protocols."""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from unidense.registry import METRICS
from ..functional import (DEPTH_METRIC_NAMES, add_sums,
                          align_depth_least_squares,
                          align_depth_least_squares_disparity,
                          align_depth_median_scale,
                          align_depth_repeated_median, depth_error_sums,
                          depth_errors_from_sums, depth_eval_mask)
from .depth_presets import PROTOCOL_TO_PRESET, get_depth_preset
from .sample_fields import (WarnOnce, as_sample_dict, check_same_hw, get_map,
                            sample_name)

ALIGNMENTS = ('none', 'least_squares', 'least_squares_disparity',
              'median_scale', 'repeated_median')
_PERCENT_KEYS = ('abs_rel', 'delta1', 'delta2', 'delta3')

# Options used when neither a preset nor an argument sets them: metric depth
# (no alignment), every pixel with gt > 0, mmsegmentation's SILog.
_DEFAULTS = dict(alignment='none', alignment_max_res=None,
                 alignment_downsample='both', min_depth=None,
                 max_depth=None, crop=None, reduction='mean', clip_pred=False,
                 scale_percent=False, silog_lambda=0.5, silog_scale=1.0,
                 use_valid_mask=True)


@METRICS.register_module()
class DepthMetric(BaseMetric):
    """Monocular depth metric: alignment, evaluation mask, error measures.

    Reads ``sample[pred_field]['data']`` (1, H, W) predicted depth (or
    affine-invariant depth/disparity when aligned), ``sample[gt_field]
    ['data']`` (1, H, W) metres with 0 = invalid, and optionally
    ``sample[valid_field]['data']`` (1, H, W) bool. Maps must have the same
    H, W (predictions restored to ``ori_shape``); ``resize_pred=True``
    resizes the prediction bilinearly instead, with a one-time warning.

    Per sample, the protocol is: evaluation mask ``min_depth < gt <
    max_depth`` (strict) & crop & dataset mask & finite prediction ->
    alignment fitted on that mask -> optional clip of the aligned
    prediction to ``[min_depth, max_depth]`` -> clip to >= 1e-6 -> error
    sums. Only those sums (a dozen floats) are stored per sample, so
    distributed collection is small and exact.

    Options come from, in increasing priority: built-in defaults (metric
    depth, no alignment, mmseg SILog), the ``preset`` (see
    :mod:`~unidense.evaluation.metrics.depth_presets`), the per-sample
    ``protocol`` meta key when ``protocol='auto'``, explicit arguments.

    Args:
        preset: preset or protocol name, e.g. ``'marigold_nyu'`` or
            ``'nyu'``.
        protocol: ``'auto'`` reads each sample's ``protocol`` meta key
            (falling back to ``preset``); a name behaves like ``preset``.
        alignment: 'none' | 'least_squares' (scale+shift in depth) |
            'least_squares_disparity' (prediction is disparity) |
            'median_scale' | 'repeated_median' (JointNet).
        alignment_max_res: fit the alignment on a nearest-downsampled copy
            with this longer side.
        alignment_downsample: 'both' axes, or 'width' only as Marigold's
            evaluation code does (ETH3D preset).
        alignment_kwargs: extra arguments of the alignment function, e.g.
            ``dict(num_fits=20, num_samples=1000, space='disparity')``.
        min_depth, max_depth: valid ground-truth range in metres.
        crop: 'eigen_nyu' | 'eigen_kitti' | 'garg_kitti' | (top, bottom,
            left, right) | 'none'.
        reduction: 'mean' (metrics per image, averaged) or 'pooled' (over
            all valid pixels of the dataset).
        clip_pred: clip the aligned prediction to the range (Marigold).
        scale_percent: report abs_rel and delta1..3 in percent.
        silog_lambda, silog_scale: SILog variant (Marigold 1.0/100, mmseg
            0.5/1).
        use_valid_mask: intersect with ``valid_field`` when present.
        metrics: subset of ``abs_rel sq_rel rmse rmse_log log10 delta1
            delta2 delta3 silog i_rmse``.
        per_image_csv: if set, ``compute_metrics`` (rank 0) also writes one
            row per sample (path, protocol, skipped, scale, shift, metrics)
            to this CSV file, like Marigold's ``per_sample_metrics.csv``.

    Returned keys: the metrics, ``num_images`` (evaluated), ``skipped``
    (samples without a valid pixel) and ``protocol``. With ``protocol=
    'auto'`` and several protocols in one run, keys are
    ``'<protocol>/<metric>'``.
    """

    default_prefix = 'depth'

    def __init__(self,
                 preset: Optional[str] = None,
                 protocol: Optional[str] = None,
                 alignment: Optional[str] = None,
                 alignment_max_res: Optional[int] = None,
                 alignment_downsample: Optional[str] = None,
                 alignment_kwargs: Optional[dict] = None,
                 min_depth: Optional[float] = None,
                 max_depth: Optional[float] = None,
                 crop: Union[None, str, Sequence[int]] = None,
                 reduction: Optional[str] = None,
                 clip_pred: Optional[bool] = None,
                 scale_percent: Optional[bool] = None,
                 silog_lambda: Optional[float] = None,
                 silog_scale: Optional[float] = None,
                 use_valid_mask: Optional[bool] = None,
                 metrics: Optional[Sequence[str]] = None,
                 pred_field: str = 'pred_depth',
                 gt_field: str = 'gt_depth',
                 valid_field: str = 'gt_depth_valid',
                 resize_pred: bool = False,
                 per_image_csv: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        self.auto = protocol == 'auto'
        if protocol is not None and not self.auto:
            if preset is not None:
                raise ValueError('DepthMetric: give preset or protocol, not '
                                 'both (protocol may be "auto")')
            preset = protocol
        if preset is not None:
            get_depth_preset(preset)  # fail at build time on a typo
            # 'nyu' and 'marigold_nyu' are one protocol; report the preset.
            preset = PROTOCOL_TO_PRESET.get(preset, preset)
        self.preset = preset
        self.overrides = {
            k: v for k, v in dict(
                alignment=alignment, alignment_max_res=alignment_max_res,
                alignment_downsample=alignment_downsample,
                min_depth=min_depth, max_depth=max_depth, crop=crop,
                reduction=reduction, clip_pred=clip_pred,
                scale_percent=scale_percent, silog_lambda=silog_lambda,
                silog_scale=silog_scale,
                use_valid_mask=use_valid_mask).items() if v is not None
        }
        if self.overrides.get('crop') == 'none':
            self.overrides['crop'] = None
        self.alignment_kwargs = dict(alignment_kwargs or {})
        if metrics is not None:
            metrics = [metrics] if isinstance(metrics, str) else list(metrics)
            unknown = set(metrics) - set(DEPTH_METRIC_NAMES)
            if unknown:
                raise ValueError(f'DepthMetric: unknown metrics '
                                 f'{sorted(unknown)}; choose from '
                                 f'{DEPTH_METRIC_NAMES}')
        self.metrics = metrics
        self.pred_field, self.gt_field = pred_field, gt_field
        self.valid_field = valid_field
        self.resize_pred = resize_pred
        self.per_image_csv = per_image_csv
        self._warn = WarnOnce('DepthMetric')
        self._options_cache = {}
        # Validate the fixed options now rather than at the first sample.
        if not self.auto:
            self._options(self._fixed_name())

    def _fixed_name(self) -> str:
        return self.preset if self.preset is not None else 'custom'

    def _options(self, name: str) -> dict:
        if name not in self._options_cache:
            opts = dict(_DEFAULTS)
            if name != 'custom':
                opts.update(get_depth_preset(name))
            opts.update(self.overrides)
            if opts['alignment'] not in ALIGNMENTS:
                raise ValueError(f'DepthMetric: alignment must be one of '
                                 f'{ALIGNMENTS}, got {opts["alignment"]!r}')
            if opts['reduction'] not in ('mean', 'pooled'):
                raise ValueError(f"DepthMetric: reduction must be 'mean' or "
                                 f"'pooled', got {opts['reduction']!r}")
            self._options_cache[name] = opts
        return self._options_cache[name]

    def _protocol_of(self, sample: dict) -> str:
        if not self.auto:
            return self._fixed_name()
        proto = sample.get('protocol')
        if proto is None:
            if self.preset is None:
                raise KeyError(
                    f"DepthMetric(protocol='auto'): sample "
                    f"{sample_name(sample)} has no 'protocol' meta key; set "
                    f'it in the dataset or give preset= as a fallback')
            return self.preset
        return PROTOCOL_TO_PRESET.get(proto, proto)

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store one small record per sample (also for skipped ones, so
        that mmengine's truncation to the dataset size stays exact)."""
        for sample in data_samples:
            self.results.append(self._process_one(as_sample_dict(sample)))

    def _process_one(self, sample: dict) -> dict:
        name = sample_name(sample)
        proto = self._protocol_of(sample)
        opts = self._options(proto)
        pred = get_map(sample, self.pred_field, metric='DepthMetric')
        gt = get_map(sample, self.gt_field, metric='DepthMetric')
        for field, arr in ((self.pred_field, pred), (self.gt_field, gt)):
            if arr.shape[0] != 1:
                raise ValueError(f'DepthMetric: {field} of {name} must have '
                                 f'1 channel, got shape {arr.shape}')
            if arr.dtype.kind not in 'fiu':
                raise ValueError(f'DepthMetric: {field} of {name} has dtype '
                                 f'{arr.dtype}, expected a number type')
        # get_map already widened floats; copy only integer maps
        pred = pred.astype(np.float64, copy=False)
        gt = gt.astype(np.float64, copy=False)
        if pred.shape != gt.shape:
            if not self.resize_pred:
                check_same_hw(pred, gt, self.pred_field, self.gt_field,
                              sample, 'DepthMetric')
            self._warn('resized', f'resizing {self.pred_field} '
                       f'{pred.shape} bilinearly to {self.gt_field} '
                       f'{gt.shape} ({name})')
            pred = F.interpolate(
                torch.from_numpy(pred)[None], size=gt.shape[-2:],
                mode='bilinear', align_corners=False)[0].numpy()
        pred, gt = pred[0], gt[0]
        valid = None
        if opts['use_valid_mask']:
            valid = get_map(sample, self.valid_field, required=False,
                            metric='DepthMetric')
            if valid is not None:
                check_same_hw(valid, gt[None], self.valid_field,
                              self.gt_field, sample, 'DepthMetric')
                valid = valid[0].astype(bool)

        bad_pred = ~np.isfinite(pred)
        if bad_pred.any():
            self._warn('nonfinite_pred', f'{int(bad_pred.sum())} NaN/inf '
                       f'predicted pixels in {name} are left out')
        if not np.isfinite(gt).all():
            self._warn('nonfinite_gt', f'NaN/inf ground truth in {name} is '
                       f'treated as invalid')
        mask = depth_eval_mask(gt, opts['min_depth'], opts['max_depth'],
                               opts['crop'], valid) & ~bad_pred
        record = dict(protocol=proto, img_path=name, skipped=False)
        try:
            aligned, scale, shift = self._align(pred, gt, mask, opts)
        except ValueError as err:
            self._warn('skipped', f'skipping {name}: {err}')
            record['skipped'] = True
            return record
        # Logs need positive depth: a non-positive prediction becomes a
        # large error instead of a NaN. One pass clips to the range and to
        # >= 1e-6, in place unless ``aligned`` is the caller's map.
        lo, hi = 1e-6, np.inf
        if opts['clip_pred']:
            if opts['min_depth'] is not None:
                lo = max(lo, opts['min_depth'])
            if opts['max_depth'] is not None:
                hi = opts['max_depth']
        aligned = np.clip(aligned, lo, hi,
                          out=None if aligned is pred else aligned)
        sums = depth_error_sums(aligned, gt, mask)
        if sums['count'] == 0:
            self._warn('skipped', f'skipping {name}: no valid pixel')
            record['skipped'] = True
            return record
        record.update(sums=sums, scale=scale, shift=shift)
        return record

    def _align(self, pred, gt, mask, opts):
        method = opts['alignment']
        if not mask.any():
            raise ValueError('no valid ground-truth pixel after range, crop '
                             'and mask')
        if method == 'none':
            return pred, 1.0, 0.0
        fn = dict(least_squares=align_depth_least_squares,
                  least_squares_disparity=align_depth_least_squares_disparity,
                  median_scale=align_depth_median_scale,
                  repeated_median=align_depth_repeated_median)[method]
        return fn(pred, gt, mask, max_resolution=opts['alignment_max_res'],
                  downsample=opts['alignment_downsample'],
                  **self.alignment_kwargs)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        groups = {}
        for r in results:
            groups.setdefault(r['protocol'], []).append(r)
        out = {}
        for proto, recs in groups.items():
            values = self._reduce(proto, recs)
            if len(groups) == 1:
                out.update(values)
                out['protocol'] = proto
            else:
                out.update({f'{proto}/{k}': v for k, v in values.items()})
        self._log_table(out)
        if self.per_image_csv:
            self._write_csv(results)
        return out

    def _per_image(self, rec: dict) -> Dict[str, float]:
        opts = self._options(rec['protocol'])
        values = depth_errors_from_sums(
            rec['sums'], metrics=self.metrics,
            silog_lambda=opts['silog_lambda'],
            silog_scale=opts['silog_scale'])
        if opts['scale_percent']:
            values = {k: v * 100.0 if k in _PERCENT_KEYS else v
                      for k, v in values.items()}
        return values

    def _write_csv(self, results: List[dict]):
        import csv
        import os
        import os.path as osp
        names = list(self.metrics or DEPTH_METRIC_NAMES)
        folder = osp.dirname(osp.abspath(self.per_image_csv))
        os.makedirs(folder, exist_ok=True)
        with open(self.per_image_csv, 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(['img_path', 'protocol', 'skipped', 'scale',
                             'shift'] + names)
            for rec in results:
                if rec['skipped']:
                    writer.writerow([rec['img_path'], rec['protocol'], 1, '',
                                     ''] + [''] * len(names))
                    continue
                values = self._per_image(rec)
                writer.writerow([rec['img_path'], rec['protocol'], 0,
                                 repr(rec['scale']), repr(rec['shift'])] +
                                [repr(values[k]) for k in names])

    def _reduce(self, proto: str, recs: List[dict]) -> Dict[str, float]:
        opts = self._options(proto)
        kept = [r for r in recs if not r['skipped']]
        skipped = len(recs) - len(kept)
        if skipped:
            print_log(f'DepthMetric[{proto}]: skipped {skipped} of '
                      f'{len(recs)} samples without valid pixels',
                      logger='current', level=30)
        values = dict(num_images=len(kept), skipped=skipped)
        if not kept:
            print_log(f'DepthMetric[{proto}]: no sample could be evaluated; '
                      f'only counts are reported', logger='current',
                      level=30)
            return values
        if opts['reduction'] == 'pooled':
            metrics = depth_errors_from_sums(
                add_sums(r['sums'] for r in kept), metrics=self.metrics,
                silog_lambda=opts['silog_lambda'],
                silog_scale=opts['silog_scale'])
            if opts['scale_percent']:
                metrics = {k: v * 100.0 if k in _PERCENT_KEYS else v
                           for k, v in metrics.items()}
        else:
            per_image = [self._per_image(r) for r in kept]
            metrics = {k: float(np.mean([m[k] for m in per_image]))
                       for k in per_image[0]}
        metrics.update(values)
        return metrics

    def _log_table(self, out: dict):
        lines = ['DepthMetric results:']
        for k, v in out.items():
            lines.append(f'  {k:<24} {v:.6g}' if isinstance(v, float)
                         else f'  {k:<24} {v}')
        print_log('\n'.join(lines), logger='current')
