"""Models: backbones, fusions, necks, heads, losses, estimators, preprocessors.

Importing this package registers every model component (the MODELS registry
lists it in ``locations``).
"""
from . import (backbones, captioners, data_preprocessors, estimators,
               fusions, heads, losses, necks, pretrainers)

__all__ = ['backbones', 'captioners', 'data_preprocessors', 'estimators', 'fusions',
           'heads', 'losses', 'necks', 'pretrainers']
