from .dense_data_sample import DENSE_FIELDS, DenseDataSample, stack_pixel_field
from .restore import restore_to_original
from .sample_fields import (GT_PIXEL_FIELDS, IGNORE_INDEX, SAMPLE_FIELDS,
                            SampleField, gt_pad_values)

__all__ = ['DENSE_FIELDS', 'DenseDataSample', 'stack_pixel_field',
           'restore_to_original', 'GT_PIXEL_FIELDS', 'IGNORE_INDEX',
           'SAMPLE_FIELDS', 'SampleField', 'gt_pad_values']
