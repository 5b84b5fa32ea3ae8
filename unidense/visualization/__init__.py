"""Visualisation: colour maps, panels and the dense-sample visualizer."""
from .colorize import (colorize_depth, colorize_labels, colorize_normal,
                       label_palette)
from .dense_local_visualizer import (DenseLocalVisualizer,
                                     dense_sample_columns, to_rgb_uint8)
from .panel import make_panel, write_png
from .vis_backends import OptionalTensorboardVisBackend

__all__ = ['colorize_depth', 'colorize_labels', 'colorize_normal',
           'label_palette', 'make_panel', 'write_png', 'DenseLocalVisualizer',
           'dense_sample_columns', 'to_rgb_uint8',
           'OptionalTensorboardVisBackend']
