"""Pure functions behind the metrics, reusable by pipelines (e.g. depth
ensembling) and by other research code."""
from .angular_errors import (HIST_BIN_DEG, HIST_NUM_BINS, angle_histogram,
                             angular_error_deg, histogram_median)
from .depth_alignment import (align_depth_least_squares,
                              align_depth_least_squares_disparity,
                              align_depth_median_scale,
                              align_depth_repeated_median,
                              downsample_for_alignment)
from .depth_errors import (DEPTH_METRIC_NAMES, add_sums, depth_error_sums,
                           depth_errors, depth_errors_from_sums)
from .depth_eval_mask import DEPTH_CROPS, crop_mask, depth_eval_mask

__all__ = [
    'align_depth_least_squares', 'align_depth_least_squares_disparity',
    'align_depth_median_scale', 'align_depth_repeated_median',
    'downsample_for_alignment', 'DEPTH_METRIC_NAMES', 'add_sums',
    'depth_error_sums', 'depth_errors', 'depth_errors_from_sums',
    'DEPTH_CROPS', 'crop_mask', 'depth_eval_mask', 'angular_error_deg',
    'angle_histogram', 'histogram_median', 'HIST_BIN_DEG', 'HIST_NUM_BINS'
]
