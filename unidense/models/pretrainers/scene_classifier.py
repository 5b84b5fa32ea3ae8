"""A scene-attribute classifier of our own, so Inception Score and CLIP score
have a meaningful feature space at tiny size (no Inception / CLIP weights
can be loaded offline, and neither knows 64x64 procedural rooms).

:class:`SceneAttributeNet` reads SyntheticScenes' caption attributes from
an image: wall colour, floor colour, brightness, light colour (one class
each) and the sets of object colours and kinds (multi-label).
``configs/pretrain/scene_classifier_tiny.py`` trains it
(:class:`SceneClassifierPretrainer`) and ``model_zoo/unidense-tiny/
scene_classifier`` ships it. Two adapters put it behind torchmetrics:

- :class:`SceneClassifierLogits`: ``InceptionScoreMetric``'s
  ``feature_extractor``; logits of the joint (wall colour, floor colour)
  class, 24 classes, so the score reaches 24 for confident, evenly spread
  rooms (Inception's 1008 ImageNet classes play this part at full size);
- :class:`SceneAttributeCLIP` + :class:`SceneCaptionProcessor`:
  ``CLIPScoreMetric``'s injected model and processor; the image embedding
  is the predicted attribute probabilities, the text embedding the
  attributes the caption names (one-hot), so ``100 cos`` is high when the
  image shows the wall and floor colours and the light the caption
  names.
"""
from types import SimpleNamespace
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from mmengine.model import BaseModel

from unidense.datasets.synthetic_scenes import SyntheticScenes
from unidense.registry import MODELS, TASK_UTILS
from ..data_preprocessors import built_preprocessor


# what SceneAttributeCLIP compares by default: the attributes the shipped
# net reads on held-out scenes (model_zoo/unidense-tiny/README.md)
DEFAULT_CLIP_ATTRIBUTES = ('walls', 'floor', 'brightness', 'light')


def _to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] or float [0, 1] (B, 3, H, W) -> float [-1, 1]."""
    if images.dtype == torch.uint8:
        return images.float() / 127.5 - 1
    return images.float() * 2 - 1


class SceneAttributeNet(ModelMixin, ConfigMixin):
    """Small CNN: (B, 3, H, W) in [-1, 1] -> attribute logits (B, C).

    Resized (antialiased) to ``image_size``; a 3x3 stem, one stride-2 stage
    per entry of ``widths`` after the first (two 3x3 convs, GroupNorm,
    SiLU), global average pooling, one linear layer over the concatenated
    classes of ``attributes`` (``[name, class names]`` pairs in the head's
    order; a dict is taken in its order).
    """

    @register_to_config
    def __init__(self, attributes: Optional[Sequence] = None,
                 multi_label: Sequence[str] = (
                     SyntheticScenes.MULTI_LABEL_ATTRIBUTES),
                 widths: Sequence[int] = (32, 64, 128, 128),
                 image_size: int = 64):
        super().__init__()
        attributes = attributes or SyntheticScenes.ATTRIBUTES
        # (name, classes) pairs: the head's output order, which a dict
        # would lose in a key-sorted config.json
        pairs = list(attributes.items()) if isinstance(attributes, dict) \
            else [(name, classes) for name, classes in attributes]
        self.attribute_names = [name for name, _ in pairs]
        self.class_names = {name: list(classes) for name, classes in pairs}
        self.multi_label = set(multi_label)

        def block(cin, cout, stride):
            return [nn.Conv2d(cin, cout, 3, stride, 1),
                    nn.GroupNorm(8, cout), nn.SiLU()]
        layers = block(3, widths[0], 1)
        for cin, cout in zip(widths[:-1], widths[1:]):
            layers += block(cin, cout, 2) + block(cout, cout, 1)
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(widths[-1], sum(
            len(v) for v in self.class_names.values()))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        size = int(self.config.image_size)
        if tuple(images.shape[-2:]) != (size, size):
            images = F.interpolate(images, size=(size, size),
                                   mode='bilinear', align_corners=False,
                                   antialias=True)
        return self.head(self.features(images).mean((2, 3)))

    def split(self, logits: torch.Tensor) -> Dict[str, torch.Tensor]:
        """(B, C) -> attribute name -> (B, classes of it)."""
        sizes = [len(self.class_names[k]) for k in self.attribute_names]
        return dict(zip(self.attribute_names, logits.split(sizes, dim=1)))

    def check_names(self, names: Optional[Sequence[str]], who: str):
        """``names`` (None: all attributes) checked against the net's."""
        names = list(self.attribute_names if names is None else names)
        unknown = set(names) - set(self.attribute_names)
        if unknown:
            raise ValueError(f'{who}: unknown attributes {sorted(unknown)}; '
                             f'the net reads {self.attribute_names}')
        return names

    def probabilities(self, logits: torch.Tensor,
                      names: Optional[Sequence[str]] = None) -> torch.Tensor:
        """(B, C') softmax per single-label attribute, sigmoid per class of
        a multi-label one, concatenated over ``names`` (default: all)."""
        parts = self.split(logits)
        return torch.cat([
            parts[name].sigmoid() if name in self.multi_label else
            parts[name].softmax(1)
            for name in self.check_names(names, 'probabilities')], dim=1)

    def encode_attributes(self, attributes: dict,
                          names: Optional[Sequence[str]] = None
                          ) -> torch.Tensor:
        """Attribute values (:meth:`SyntheticScenes.attributes_of_scene`
        layout) -> (C', ) one-hot / multi-hot over ``names`` (default: all);
        an unknown or missing value leaves its block zero."""
        blocks = []
        for name in self.check_names(names, 'encode_attributes'):
            classes = self.class_names[name]
            block = torch.zeros(len(classes))
            value = attributes.get(name)
            values = value if name in self.multi_label else [value]
            for v in values or []:
                if v in classes:
                    block[classes.index(v)] = 1
            blocks.append(block)
        return torch.cat(blocks)

    def decode(self, logits: torch.Tensor,
               names: Optional[Sequence[str]] = None) -> Dict[str, list]:
        """(B, C) logits -> attribute name -> B class names (single-label:
        the argmax) or sorted name lists (multi-label: probability > 0.5),
        over ``names`` (default: all); the layout of
        :meth:`SyntheticScenes.attributes_of_scene`."""
        parts = self.split(logits)
        out = {}
        for name in self.check_names(names, 'decode'):
            classes = self.class_names[name]
            if name in self.multi_label:
                hot = parts[name].sigmoid() > 0.5
                out[name] = [sorted(c for c, h in zip(classes, row) if h)
                             for row in hot.tolist()]
            else:
                out[name] = [classes[i] for i in
                             parts[name].argmax(1).tolist()]
        return out

    @torch.no_grad()
    def read(self, images: torch.Tensor,
             names: Optional[Sequence[str]] = None) -> Dict[str, list]:
        """uint8 [0, 255] or float [0, 1] (B, 3, H, W) -> :meth:`decode` of
        the net's logits."""
        return self.decode(self(_to_unit_range(images)), names)

    @classmethod
    def load_frozen(cls, pretrained: str) -> 'SceneAttributeNet':
        """The shipped folder (``config.json`` + safetensors), eval mode,
        no gradients."""
        net = cls.from_pretrained(pretrained)
        return net.eval().requires_grad_(False)


@MODELS.register_module()
class SceneClassifierPretrainer(BaseModel):
    """Trains :class:`SceneAttributeNet` on SyntheticScenes with the labels
    of each sample's ``scene`` metainfo (``PackDenseInputs`` must keep the
    ``scene`` key): cross-entropy per single-label attribute, binary
    cross-entropy per multi-label one, summed (``loss_<attribute>``).
    ``predict`` stores ``pred_attributes`` (the same layout as
    :meth:`SyntheticScenes.attributes_of_scene`; multi-label: classes with
    probability > 0.5) and, when the sample has a ``scene``,
    ``gt_attributes`` (for ``AttributeAccuracy``).

    Args:
        net (dict): :class:`SceneAttributeNet` arguments.
    """

    def __init__(self, net: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            data_preprocessor=built_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        net = dict(net or {})
        # the class layout is written into the shipped config.json, so a
        # later change of SyntheticScenes cannot reinterpret old weights
        net.setdefault('attributes', [[k, list(v)] for k, v in
                                      SyntheticScenes.ATTRIBUTES.items()])
        self.net = SceneAttributeNet(**net)

    def _labels(self, data_samples) -> torch.Tensor:
        rows = []
        for i, sample in enumerate(data_samples):
            scene = sample.metainfo.get('scene')
            if scene is None:
                raise KeyError(f'sample {i} has no `scene` metainfo: add '
                               "'scene' to PackDenseInputs' meta_keys")
            rows.append(self.net.encode_attributes(
                SyntheticScenes.attributes_of_scene(scene)))
        return torch.stack(rows)

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        return self.net(inputs)

    def loss(self, inputs, data_samples) -> Dict[str, torch.Tensor]:
        logits = self.net.split(self.net(inputs))
        labels = self.net.split(self._labels(data_samples).to(inputs))
        losses = {}
        for name, part in logits.items():
            target = labels[name]
            if name in self.net.multi_label:
                loss = F.binary_cross_entropy_with_logits(part, target)
            else:
                loss = F.cross_entropy(part, target.argmax(1))
            losses[f'loss_{name}'] = loss
        return losses

    @torch.no_grad()
    def predict(self, inputs, data_samples):
        decoded = self.net.decode(self.net(inputs))
        for i, sample in enumerate(data_samples):
            scene = sample.metainfo.get('scene')
            if scene is not None:   # for AttributeAccuracy
                sample.set_field(SyntheticScenes.attributes_of_scene(scene),
                                 'gt_attributes', field_type='metainfo')
            pred = {name: values[i] for name, values in decoded.items()}
            sample.set_field(pred, 'pred_attributes', field_type='metainfo')
        return data_samples

    def export(self, out_dir: str) -> str:
        """Save the net as a diffusers-style folder, atomically."""
        from .export import save_pretrained_atomic
        return save_pretrained_atomic(self.net, out_dir)


@MODELS.register_module()
class SceneClassifierLogits(nn.Module):
    """Inception Score feature extractor: uint8 (B, 3, H, W) -> (B, K)
    logits of the joint class of ``attributes`` (single-label ones; default
    wall x floor colour, K = 24): the sum of their log-softmaxes, so
    torchmetrics' softmax gives the product of the attribute
    distributions."""

    def __init__(self, pretrained: str,
                 attributes: Sequence[str] = ('walls', 'floor')):
        super().__init__()
        self.net = SceneAttributeNet.load_frozen(pretrained)
        self.attributes = self.net.check_names(attributes,
                                               'SceneClassifierLogits')
        multi = set(self.attributes) & self.net.multi_label
        if multi:
            raise ValueError(f'SceneClassifierLogits: attributes must be '
                             f'single-label ones, got the multi-label '
                             f'{sorted(multi)}')

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        parts = self.net.split(self.net(_to_unit_range(images)))
        joint = None
        for name in self.attributes:
            logp = parts[name].float().log_softmax(1)
            joint = logp if joint is None else (
                joint[:, :, None] + logp[:, None, :]).flatten(1)
        return joint


@MODELS.register_module()
class SceneAttributeCLIP(nn.Module):
    """CLIP-score model of :class:`SceneAttributeNet` (the
    ``get_image_features`` / ``get_text_features`` pair torchmetrics'
    ``CLIPScore`` calls): image -> predicted probabilities of
    ``attributes``; text -> the attribute vector
    :class:`SceneCaptionProcessor` encoded (it arrives as ``input_ids``).

    The default ``attributes`` are those the shipped net reads reliably
    (wall and floor colour, brightness, light colour: 98-100 % on held-out
    scenes); it does not read the object colours and kinds (their exact
    sets: 10 % and 18 %), which would only add noise.
    """

    def __init__(self, pretrained: str,
                 attributes: Sequence[str] = DEFAULT_CLIP_ATTRIBUTES):
        super().__init__()
        self.net = SceneAttributeNet.load_frozen(pretrained)
        self.attributes = self.net.check_names(attributes,
                                               'SceneAttributeCLIP')
        self.config = SimpleNamespace()   # no text_config: no truncation

    @torch.no_grad()
    def get_image_features(self, pixel_values: torch.Tensor):
        return self.net.probabilities(self.net(pixel_values.float()),
                                      self.attributes)

    def get_text_features(self, input_ids: torch.Tensor,
                          attention_mask: Optional[torch.Tensor] = None):
        return input_ids.float()


@TASK_UTILS.register_module()
class SceneCaptionProcessor:
    """The processor beside :class:`SceneAttributeCLIP`: ``images=`` (list
    of (3, H, W) uint8 or [0, 1] float) -> ``pixel_values`` (B, 3, H, W) in
    [-1, 1]; ``text=`` (captions) -> ``input_ids`` (B, C) float attribute
    vectors of ``attributes`` (:meth:`SyntheticScenes.attributes_of_caption`,
    encoded in the net's class order; the same ``attributes`` as the
    :class:`SceneAttributeCLIP` beside it) and an all-ones
    ``attention_mask``."""

    def __init__(self, pretrained: str,
                 attributes: Sequence[str] = DEFAULT_CLIP_ATTRIBUTES):
        self.net = SceneAttributeNet.load_frozen(pretrained)
        self.attributes = self.net.check_names(attributes,
                                               'SceneCaptionProcessor')

    def __call__(self, images=None, text=None, return_tensors='pt',
                 padding=True):
        out = {}
        if images is not None:
            out['pixel_values'] = torch.stack(
                [_to_unit_range(torch.as_tensor(img)) for img in images])
        if text is not None:
            text = [text] if isinstance(text, str) else list(text)
            ids = torch.stack([self.net.encode_attributes(
                SyntheticScenes.attributes_of_caption(t), self.attributes)
                for t in text])
            out['input_ids'] = ids
            out['attention_mask'] = torch.ones(len(text), 1,
                                               dtype=torch.long)
        return out
