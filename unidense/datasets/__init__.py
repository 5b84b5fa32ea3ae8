"""Datasets (the DATASETS registry lists this package in ``locations``)."""
from . import samplers, transforms
from .ade20k import ADE20KDataset
from .base_dense_dataset import BaseDenseDataset
from .diode import DIODEDataset
from .eth3d import ETH3DDataset
from .hypersim import HypersimDataset
from .image_caption import ImageCaptionDataset
from .kitti import KITTIDataset
from .megadepth import MegaDepthDataset
from .nyud_mt import NYUDMTDataset
from .nyuv2 import NYUv2Dataset
from .pascal_context_mt import PascalContextMTDataset
from .prompt_set import PromptSetDataset
from .samplers import InfiniteMixedBatchSampler, MixedBatchSampler
from .scannet import ScanNetDataset
from .synthetic_scenes import SyntheticScenes
from .vkitti2 import VKITTI2Dataset

__all__ = ['samplers', 'transforms', 'ADE20KDataset', 'BaseDenseDataset',
           'DIODEDataset', 'ETH3DDataset', 'HypersimDataset',
           'ImageCaptionDataset', 'KITTIDataset', 'MegaDepthDataset',
           'NYUDMTDataset', 'NYUv2Dataset', 'PascalContextMTDataset',
           'InfiniteMixedBatchSampler', 'MixedBatchSampler',
           'ScanNetDataset', 'SyntheticScenes', 'VKITTI2Dataset',
           'PromptSetDataset']
