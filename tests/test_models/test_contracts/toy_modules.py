"""Source of the toy head and toy fusion the contract tests write into a
temporary folder: each is one file a user would add, nothing else.

Kept as strings so the tests prove that a file outside the package, named
only in a config's ``custom_imports``, is enough; docs/advanced_guides/
contracts.md shows the same two files.
"""

TOY_HEAD = '''
"""A toy depth head: one 1x1 conv on the finest feature map."""
import torch.nn as nn

from unidense.models.heads import BaseDenseHead
from unidense.registry import MODELS


@MODELS.register_module()
class ToyDepthHead(BaseDenseHead):
    """feats [(B, C, h, w), ...] -> {'depth': (B, 1, h, w)} in metres."""

    def __init__(self, in_channels, **kwargs):
        super().__init__(tasks='depth', **kwargs)
        self.conv = nn.Conv2d(in_channels, 1, 1)

    def forward(self, feats):
        x = feats[0] if isinstance(feats, (list, tuple)) else feats
        return {'depth': self.conv(x)}

    def loss_by_feat(self, outputs, data_samples):
        target = self.stack_targets(data_samples, 'gt_depth')
        pred = self.resize(outputs['depth'], target.shape[-2:])
        valid = target > 0
        return {loss.loss_name: loss(pred, target, valid)
                for loss in self.losses}
'''

TOY_FUSION = '''
"""A toy fusion: a zero-initialised residual adapter before every frozen
PixArt block (a MERGE converter in miniature)."""
import torch.nn as nn

from unidense.models.fusions import BaseFusion
from unidense.registry import MODELS


@MODELS.register_module()
class ToyResidualAdapters(BaseFusion):
    """A zero-initialised residual adapter before every frozen PixArt block
    (a MERGE converter in miniature): zero adapters = the frozen model."""

    required_backbone_attrs = ('prepare', 'run_block', 'finalize',
                               'num_blocks', 'hidden_size')

    def __init__(self, backbone, init_cfg=None):
        super().__init__(backbone, init_cfg=init_cfg)
        dim = self.backbone.hidden_size
        self.adapters = nn.ModuleList(
            nn.Linear(dim, dim) for _ in range(self.backbone.num_blocks))
        for adapter in self.adapters:
            nn.init.zeros_(adapter.weight)
            nn.init.zeros_(adapter.bias)
        self.make_own_parts_trainable()

    def forward(self, latent, timestep, text, text_mask=None):
        bb = self.backbone
        state = bb.prepare(latent, timestep, text, text_mask)
        for i, adapter in enumerate(self.adapters):
            tokens = state.tokens + adapter(state.tokens)
            state = bb.run_block(i, state.replace(tokens=tokens))
        return bb.finalize(state)
'''
