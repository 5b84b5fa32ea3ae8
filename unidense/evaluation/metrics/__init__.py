"""Registered metrics (METRICS)."""
from .attribute_accuracy import AttributeAccuracy
from .depth_metric import DepthMetric
from .depth_presets import DEPTH_PRESETS, PROTOCOL_TO_PRESET, get_depth_preset
from .generation_metrics import (CLIPScoreMetric, FIDMetric,
                                 InceptionScoreMetric, IntraLPIPSMetric,
                                 panorama_crops)
from .iou_metric import IoUMetric
from .multi_task_metric import MultiTaskMetric
from .normal_metric import NormalMetric
from .saliency_metric import SaliencyMetric

__all__ = ['AttributeAccuracy', 'DepthMetric', 'DEPTH_PRESETS', 'PROTOCOL_TO_PRESET',
           'get_depth_preset', 'IoUMetric', 'MultiTaskMetric', 'NormalMetric',
           'SaliencyMetric', 'CLIPScoreMetric', 'FIDMetric', 'InceptionScoreMetric',
           'IntraLPIPSMetric', 'panorama_crops']
