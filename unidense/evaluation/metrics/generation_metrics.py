"""Generation metrics on torchmetrics: FID, Inception Score, intra-LPIPS.

Why torchmetrics: its metrics keep their statistics as distributed-aware
states (summed features and covariances for FID, logits for IS), so every
rank scores its own share of the generated images and ``compute()``
gathers them; its FID and IS use torch-fidelity's port of the TF Inception
network (``FeatureExtractorInceptionV3``), the reference-faithful features
of paper-grade numbers, and resize inputs to 299x299 with antialiasing
(``antialias=True``; the TF original resizes without). Intra-LPIPS uses
torchmetrics' LPIPS network (AlexNet + the LPIPS v0.1 linear heads it
ships).

Offline (our machines and CI) nothing is downloaded silently: the
Inception weights come from a local file (``inception_weights``, torch-
fidelity's ``pt_inception-2015-12-05-6726825d.pth``), the LPIPS backbone
from a local AlexNet file (``alexnet_weights``), or a feature extractor is
injected (``feature_extractor``: a module or a MODELS config; tests use a
small random one). Missing weights raise an error naming the path.

Each metric reads the generated image of a prediction from ``pred_img``:
(3, H, W) float in [0, 1] or uint8 (the generation evaluator writes it).
``evaluate`` runs torchmetrics' ``compute`` on every rank (it gathers the
states itself) instead of mmengine's result collection.
"""
import os.path as osp
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric

from unidense.registry import METRICS, MODELS, TASK_UTILS


def _images(data_samples, field: str) -> torch.Tensor:
    """(B, 3, H, W) uint8 from the samples' ``field``."""
    imgs = []
    for i, s in enumerate(data_samples):
        img = s.get(field) if isinstance(s, dict) else getattr(s, field,
                                                                None)
        if img is None:
            raise KeyError(f'sample {i} has no {field!r} (the generated '
                           f'image, (3, H, W) in [0, 1] or uint8)')
        img = getattr(img, 'data', img)
        img = torch.as_tensor(img)
        if img.dim() != 3 or img.shape[0] != 3:
            raise ValueError(f'sample {i}: {field} must be (3, H, W), got '
                             f'{tuple(img.shape)}')
        if img.dtype != torch.uint8:
            img = (img.float().clamp(0, 1) * 255).round().to(torch.uint8)
        imgs.append(img)
    return torch.stack(imgs)


def _extractor(feature_extractor, weights: Optional[str], kind: str,
               allow_download: bool):
    """The injected module, or torchmetrics' default feature argument."""
    if feature_extractor is not None:
        return MODELS.build(feature_extractor) if isinstance(
            feature_extractor, dict) else feature_extractor
    if weights is None and not allow_download:
        raise FileNotFoundError(
            f'{kind}: no Inception weights: give inception_weights='
            f'<local pt_inception-2015-12-05-6726825d.pth> (torch-fidelity), '
            f'inject a feature_extractor, or allow_download=True')
    if weights is not None and not osp.isfile(weights):
        raise FileNotFoundError(f'{kind}: inception_weights {weights!r} not '
                                f'found')
    return None


class _TorchmetricsMetric(BaseMetric):
    """A BaseMetric whose state is a torchmetrics metric."""

    def __init__(self, pred_field: str = 'pred_img',
                 prefix: Optional[str] = None, collect_device: str = 'cpu'):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.pred_field = pred_field
        self.num_images = 0

    def process(self, data_batch, data_samples: Sequence) -> None:
        imgs = _images(data_samples, self.pred_field)
        self.update(imgs, data_samples)
        self.num_images += len(imgs)

    def compute_metrics(self, results: list) -> dict:  # pragma: no cover
        raise NotImplementedError('evaluate() computes the metric')

    def evaluate(self, size: int) -> dict:
        if self.num_images == 0:
            raise ValueError(f'{type(self).__name__}: no generated image was '
                             f'processed')
        metrics = {f'{self.prefix}/{k}' if self.prefix else k: v
                   for k, v in self.compute().items()}
        self.reset()
        return metrics


@METRICS.register_module()
class FIDMetric(_TorchmetricsMetric):
    """Fréchet Inception Distance of generated images to a reference set
    (torchmetrics ``FrechetInceptionDistance``).

    Args:
        reference (dict | str): a DATASETS config whose images are the real
            set (e.g. held-out SyntheticScenes), read once, each rank its
            share; or a ``.npz`` of precomputed reference statistics
            (``mu``, ``sigma`` and ``num_samples`` of the same features,
            e.g. MS-COCO val2014 through ``pytorch-fid --save-stats``).
        reference_limit (int, optional): only the first N reference images.
        feature (int): Inception feature layer (2048 for the standard FID).
        inception_weights (str): local torch-fidelity Inception weights.
        feature_extractor (dict | nn.Module, optional): replaces Inception
            (needs ``num_features``... any module mapping uint8 (B, 3, H,
            W) to (B, D) features).
        antialias (bool): antialiased resize to 299 (torchmetrics default).
        allow_download (bool): let torch-fidelity download the weights.
    """
    default_prefix = 'gen'

    def __init__(self, reference: dict, reference_limit: Optional[int] = None,
                 feature: int = 2048,
                 inception_weights: Optional[str] = None,
                 feature_extractor: Union[dict, nn.Module, None] = None,
                 antialias: bool = True, allow_download: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        from torchmetrics.image.fid import FrechetInceptionDistance
        module = _extractor(feature_extractor, inception_weights, 'FIDMetric',
                            allow_download)
        self.fid = FrechetInceptionDistance(
            feature=module if module is not None else feature,
            feature_extractor_weights_path=inception_weights,
            antialias=antialias, reset_real_features=False)
        self.reference = reference
        self.reference_limit = reference_limit
        self._reference_done = False

    def _load_statistics(self, path):
        import numpy as np
        if not osp.isfile(path):
            raise FileNotFoundError(f'FIDMetric: reference statistics '
                                    f'{path!r} not found')
        stats = np.load(path)
        missing = {'mu', 'sigma'} - set(stats.files)
        if missing:
            raise KeyError(f'{path}: no {sorted(missing)}')
        mu = torch.as_tensor(stats['mu'], dtype=torch.float64)
        sigma = torch.as_tensor(stats['sigma'], dtype=torch.float64)
        n = int(stats['num_samples']) if 'num_samples' in stats.files \
            else 50000
        fid = self.fid
        if mu.shape != fid.real_features_sum.shape:
            raise ValueError(f'{path}: mu has {tuple(mu.shape)} features, '
                             f'the extractor gives '
                             f'{tuple(fid.real_features_sum.shape)}')
        # torchmetrics' sufficient statistics of n samples
        fid.real_features_sum = (mu * n).to(fid.real_features_sum)
        fid.real_features_cov_sum = (sigma * (n - 1) + n * torch.outer(
            mu, mu)).to(fid.real_features_cov_sum)
        fid.real_features_num_samples = torch.tensor(n).to(
            fid.real_features_num_samples)
        from mmengine.dist import get_rank
        if get_rank() != 0:   # the states are summed over ranks
            fid.real_features_sum.zero_()
            fid.real_features_cov_sum.zero_()
            fid.real_features_num_samples.zero_()

    def _feed_reference(self):
        from mmengine.dist import get_dist_info

        from unidense.registry import DATASETS
        self._reference_done = True
        if isinstance(self.reference, str):
            self._load_statistics(self.reference)
            return
        rank, world = get_dist_info()
        dataset = DATASETS.build(self.reference)
        n = len(dataset) if self.reference_limit is None else min(
            self.reference_limit, len(dataset))
        mine = list(range(rank, n, world))
        for start in range(0, len(mine), 16):
            batch = [dataset[i]['inputs'] for i in mine[start:start + 16]]
            self.fid.update(torch.stack(batch).to(torch.uint8), real=True)

    def update(self, imgs, data_samples):
        if not self._reference_done:
            self._feed_reference()
        self.fid.update(imgs, real=False)

    def compute(self):
        return {'fid': float(self.fid.compute())}

    def reset(self):
        self.fid.reset()   # keeps the reference (reset_real_features=False)
        self.num_images = 0


@METRICS.register_module()
class InceptionScoreMetric(_TorchmetricsMetric):
    """Inception Score of generated images (torchmetrics
    ``InceptionScore``: torch-fidelity's unbiased logits, ``splits``
    splits; mean and standard deviation over them).

    Args: as :class:`FIDMetric` (``feature`` 'logits_unbiased'), ``splits``.
    """
    default_prefix = 'gen'

    def __init__(self, splits: int = 10,
                 inception_weights: Optional[str] = None,
                 feature_extractor: Union[dict, nn.Module, None] = None,
                 allow_download: bool = False, **kwargs):
        super().__init__(**kwargs)
        from torchmetrics.image.inception import InceptionScore
        module = _extractor(feature_extractor, inception_weights,
                            'InceptionScoreMetric', allow_download)
        kw = {}
        if module is None and inception_weights is not None:
            from torchmetrics.image.fid import NoTrainInceptionV3
            module = NoTrainInceptionV3(
                name='inception-v3-compat', features_list=['logits_unbiased'],
                feature_extractor_weights_path=inception_weights)
        self.inception = InceptionScore(
            feature=module if module is not None else 'logits_unbiased',
            splits=int(splits), **kw)

    def update(self, imgs, data_samples):
        self.inception.update(imgs)

    def compute(self):
        mean, std = self.inception.compute()
        return {'is': float(mean), 'is_std': float(std)}

    def reset(self):
        self.inception.reset()
        self.num_images = 0


@MODELS.register_module()
class RandomConvFeatures(nn.Module):
    """A fixed, seeded random conv net as a feature space for Fréchet
    distances where no Inception weights exist (our CPU machines, the tiny
    family's 64x64 images): uint8 (B, 3, H, W) -> resized to 64x64 -> three
    stride-2 3x3 convs with ReLU (He-initialised from ``seed``) -> global
    average -> (B, ``num_features``). Its distances rank sample sets like
    FID's do only roughly; they are comparable between runs with the same
    seed, not with published FIDs.
    """

    def __init__(self, num_features: int = 64, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(int(seed))
        widths = [3, 32, 64, int(num_features)]
        self.convs = nn.ModuleList()
        for cin, cout in zip(widths[:-1], widths[1:]):
            conv = nn.Conv2d(cin, cout, 3, stride=2, padding=1)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape,
                                              generator=g) *
                                  (2.0 / (cin * 9))**0.5)
                conv.bias.zero_()
            self.convs.append(conv)
        self.num_features = int(num_features)
        self.requires_grad_(False).eval()

    def forward(self, x):
        x = x.float() / 127.5 - 1 if x.dtype == torch.uint8 else x.float()
        x = nn.functional.interpolate(x, size=(64, 64), mode='bilinear',
                                      align_corners=False, antialias=True)
        for conv in self.convs:
            x = torch.relu(conv(x))
        return x.mean((2, 3)).double()


class _FeatureTensors(nn.Module):
    """transformers >= 5 returns model outputs from ``get_*_features``;
    torchmetrics expects the embedding tensors (the pooled output)."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.config = model.config

    @staticmethod
    def _tensor(out):
        return out if torch.is_tensor(out) else out.pooler_output

    def get_image_features(self, *args, **kwargs):
        return self._tensor(self.model.get_image_features(*args, **kwargs))

    def get_text_features(self, *args, **kwargs):
        return self._tensor(self.model.get_text_features(*args, **kwargs))


@METRICS.register_module()
class CLIPScoreMetric(_TorchmetricsMetric):
    """CLIP score of generated images against their prompts (torchmetrics
    ``CLIPScore``: ``max(100 cos(E_image, E_text), 0)`` averaged).

    The prompt of each sample is its ``caption`` (or metainfo ``prompt``).

    Args:
        clip_model (str): hub id (``openai/clip-vit-large-patch14``, as
            JointNet Table 1) or local folder of a transformers CLIP with
            its processor; loaded with ``local_files_only`` unless
            ``allow_download``.
        model, processor (optional): an injected CLIP-like pair (a model
            with ``get_image_features`` / ``get_text_features``, a
            processor called with ``images=`` / ``text=``; each an object
            or a MODELS / TASK_UTILS config); tests use a tiny random one,
            the tiny configs the scene classifier's pair
            (``SceneAttributeCLIP`` + ``SceneCaptionProcessor``).
    """
    default_prefix = 'gen'

    def __init__(self, clip_model: Optional[str] = None, model=None,
                 processor=None, allow_download: bool = False, **kwargs):
        super().__init__(**kwargs)
        from torchmetrics.multimodal.clip_score import CLIPScore
        if model is not None or processor is not None:
            if model is None or processor is None:
                raise ValueError('CLIPScoreMetric: inject both model and '
                                 'processor')
            pair = (MODELS.build(model) if isinstance(model, dict) else
                    model, TASK_UTILS.build(processor) if isinstance(
                        processor, dict) else processor)
        elif clip_model is None:
            raise ValueError('CLIPScoreMetric: give clip_model (hub id or '
                             'local folder) or model + processor')
        else:
            from transformers import CLIPModel, CLIPProcessor
            local = not allow_download
            try:
                pair = (CLIPModel.from_pretrained(
                    clip_model, local_files_only=local),
                    CLIPProcessor.from_pretrained(
                        clip_model, local_files_only=local))
            except OSError as err:
                raise FileNotFoundError(
                    f'CLIPScoreMetric: cannot load {clip_model!r} from local '
                    f'files ({err}); give a local folder or allow_download='
                    f'True') from err
        pair = (_FeatureTensors(pair[0]), pair[1])
        self.clip = CLIPScore(model_name_or_path=lambda: pair)

    @staticmethod
    def _prompt(sample, i):
        meta = sample.get('metainfo', {}) if isinstance(sample, dict) \
            else sample.metainfo
        prompt = (sample.get('caption') if isinstance(sample, dict) else
                  getattr(sample, 'caption', None)) or meta.get('prompt') \
            or meta.get('caption')
        if not prompt:
            raise KeyError(f'sample {i} has no caption / prompt for the CLIP '
                           f'score')
        return str(prompt)

    def update(self, imgs, data_samples):
        prompts = [self._prompt(s, i) for i, s in enumerate(data_samples)]
        self.clip.update(list(imgs), prompts)

    def compute(self):
        return {'clip_score': float(self.clip.compute())}

    def reset(self):
        self.clip.reset()
        self.num_images = 0


def panorama_crops(image: torch.Tensor, num_crops: int = 4) -> torch.Tensor:
    """(3, H, W) -> (num_crops, 3, H, W // num_crops): the non-overlapping
    crops along the width (JointNet Table 3: 4 crops of 2048x512)."""
    w = image.shape[-1] // num_crops
    if w == 0:
        raise ValueError(f'panorama of width {image.shape[-1]} is too narrow '
                         f'for {num_crops} crops')
    return torch.stack([image[..., i * w:(i + 1) * w]
                        for i in range(num_crops)])


@METRICS.register_module()
class IntraLPIPSMetric(_TorchmetricsMetric):
    """Intra-LPIPS of panoramas (JointNet Table 3): each panorama is cut
    into ``num_crops`` non-overlapping crops along its width; LPIPS of all
    crop pairs (6 for 4 crops) is averaged per panorama, then over
    panoramas. Lower means more self-similar (repetitive) tiles.

    LPIPS is torchmetrics' network: AlexNet features + the LPIPS linear
    heads it ships; the AlexNet ImageNet weights come from
    ``alexnet_weights`` (a local torchvision ``alexnet-owt-7be5be79.pth``)
    or, injected, any ``net`` module mapping two (B, 3, H, W) images in
    [-1, 1] to (B,) distances.
    """
    default_prefix = 'gen'

    def __init__(self, num_crops: int = 4,
                 alexnet_weights: Optional[str] = None,
                 net: Union[dict, nn.Module, None] = None,
                 allow_download: bool = False, **kwargs):
        super().__init__(**kwargs)
        import itertools
        if net is not None:
            self.net = MODELS.build(net) if isinstance(net, dict) else net
        else:
            from torchmetrics.functional.image.lpips import _LPIPS
            if alexnet_weights is None and not allow_download:
                raise FileNotFoundError(
                    'IntraLPIPSMetric: no AlexNet weights: give '
                    'alexnet_weights=<local alexnet-owt-7be5be79.pth>, '
                    'inject a net, or allow_download=True')
            if alexnet_weights is not None and not osp.isfile(
                    alexnet_weights):
                raise FileNotFoundError(f'IntraLPIPSMetric: alexnet_weights '
                                        f'{alexnet_weights!r} not found')
            self.net = _LPIPS(pretrained=True, net='alex',
                              pnet_rand=alexnet_weights is not None)
            if alexnet_weights is not None:
                state = torch.load(alexnet_weights, map_location='cpu',
                                   weights_only=True)
                feats = {k[len('features.'):]: v for k, v in state.items()
                         if k.startswith('features.')}
                layers = nn.Sequential(*[m for s in (
                    self.net.net.slice1, self.net.net.slice2,
                    self.net.net.slice3, self.net.net.slice4,
                    self.net.net.slice5) for m in s])
                layers.load_state_dict(feats, strict=False)
        self.net.eval().requires_grad_(False)
        self.num_crops = int(num_crops)
        self.pairs = list(itertools.combinations(range(self.num_crops), 2))
        self.scores = []

    @torch.no_grad()
    def update(self, imgs, data_samples):
        for img in imgs:
            crops = panorama_crops(img.float() / 127.5 - 1, self.num_crops)
            a = torch.stack([crops[i] for i, _ in self.pairs])
            b = torch.stack([crops[j] for _, j in self.pairs])
            self.scores.append(float(self.net(a, b).reshape(-1).mean()))

    def compute(self):
        from mmengine.dist import all_gather_object
        scores = [s for part in all_gather_object(self.scores) for s in part]
        return {'intra_lpips': sum(scores) / len(scores)}

    def reset(self):
        self.scores = []
        self.num_images = 0
