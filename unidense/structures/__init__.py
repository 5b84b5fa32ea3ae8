from .dense_data_sample import DENSE_FIELDS, DenseDataSample, stack_pixel_field
from .restore import restore_to_original

__all__ = ['DENSE_FIELDS', 'DenseDataSample', 'stack_pixel_field',
           'restore_to_original']
