"""Named depth-evaluation protocols.

Each preset is the full set of :class:`DepthMetric` options that reproduces a
published table. The Marigold presets (CVPR 2024 Table 1, and the protocol
MERGE inherits for its Table 1) share: least-squares scale and shift in depth
space, aligned prediction clipped to the range and to >= 1e-6, metrics per
image averaged over images, AbsRel and delta in percent, SILog with
lambda = 1 scaled by 100.

========== ============== ============================== ==================
protocol   range (m)      crop / mask                    alignment
========== ============== ============================== ==================
nyu        (1e-3, 10)     Eigen rows 45:471 cols 41:601  least squares
kitti      (1e-5, 80)     Eigen fractions (KB crop       least squares
                          done by the dataset)
eth3d      (1e-5, inf)    none                           least squares at
                                                         1024 px (width
                                                         only, as Marigold)
scannet    (1e-3, 10)     none                           least squares
diode      (0.6, 350)     dataset mask                   least squares
hypersim   (1e-5, 65)     none (validation)              least squares
vkitti     (1e-5, 80)     Eigen fractions (validation)   least squares
megadepth  (0, inf)       none                           JointNet repeated
                                                         median, disparity
nyud_mt    (0, 80)        none; pooled RMSE (InvPT)      none (metric)
synthetic  (1e-3, 20)     none                           least squares
========== ============== ============================== ==================

Datasets set the sample meta key ``protocol`` to one of the names in the
first column; ``DepthMetric(protocol='auto')`` maps it through
:data:`PROTOCOL_TO_PRESET`.
"""
import copy

_MARIGOLD = dict(alignment='least_squares', alignment_max_res=None,
                 reduction='mean', clip_pred=True, scale_percent=True,
                 silog_lambda=1.0, silog_scale=100.0, use_valid_mask=True,
                 crop=None)


def _marigold(**kwargs):
    cfg = dict(_MARIGOLD)
    cfg.update(kwargs)
    return cfg


DEPTH_PRESETS = {
    'marigold_nyu': _marigold(min_depth=1e-3, max_depth=10.0,
                              crop='eigen_nyu'),
    'marigold_kitti': _marigold(min_depth=1e-5, max_depth=80.0,
                                crop='eigen_kitti'),
    'marigold_kitti_garg': _marigold(min_depth=1e-5, max_depth=80.0,
                                     crop='garg_kitti'),
    # Marigold's code downsamples only the width for the ETH3D fit (it
    # passes a (1, H, W) tensor to nn.Upsample); kept to match its numbers.
    'marigold_eth3d': _marigold(min_depth=1e-5, max_depth=float('inf'),
                                alignment_max_res=1024,
                                alignment_downsample='width'),
    'marigold_scannet': _marigold(min_depth=1e-3, max_depth=10.0),
    'marigold_diode': _marigold(min_depth=0.6, max_depth=350.0),
    'marigold_hypersim': _marigold(min_depth=1e-5, max_depth=65.0),
    'marigold_vkitti': _marigold(min_depth=1e-5, max_depth=80.0,
                                 crop='eigen_kitti'),
    # JointNet Table 2 (MegaDepth): disparity-space alignment as the median
    # of repeated least-squares fits; AbsRel in depth, RMSE in disparity
    # (our ``i_rmse``). Range and crop are not stated in the paper.
    'jointnet_megadepth': dict(
        alignment='repeated_median', alignment_max_res=None,
        reduction='mean', clip_pred=False, scale_percent=False,
        silog_lambda=1.0, silog_scale=100.0, use_valid_mask=True, crop=None,
        min_depth=0.0, max_depth=float('inf')),
    # InvPT / TaskPrompter NYUD-MT depth: metric depth, no alignment, RMSE
    # pooled over every valid pixel of the set (TaskPrompter: 0 < gt < 80).
    'invpt_nyud': dict(alignment='none', alignment_max_res=None,
                       reduction='pooled', clip_pred=False,
                       scale_percent=False, silog_lambda=1.0,
                       silog_scale=100.0, use_valid_mask=True, crop=None,
                       min_depth=0.0, max_depth=80.0),
    # SyntheticScenes (procedural rooms for tests and demos): Marigold-style
    # affine-invariant evaluation over its (1e-3, 20) m range.
    'synthetic_scenes': _marigold(min_depth=1e-3, max_depth=20.0),
    # mmsegmentation's VPD/NYU metric: metric depth, no alignment.
    'mmseg_nyu': dict(alignment='none', alignment_max_res=None,
                      reduction='mean', clip_pred=False, scale_percent=False,
                      silog_lambda=0.5, silog_scale=1.0, use_valid_mask=True,
                      crop='eigen_nyu', min_depth=1e-3, max_depth=10.0),
}
# MERGE evaluates with Marigold's protocol (its released dataset classes
# carry the same ranges and crops).
for _name in ('nyu', 'scannet', 'diode', 'kitti', 'eth3d'):
    DEPTH_PRESETS[f'merge_{_name}'] = DEPTH_PRESETS[f'marigold_{_name}']

#: Value of the sample meta key ``protocol`` -> preset name.
PROTOCOL_TO_PRESET = {
    'nyu': 'marigold_nyu', 'kitti': 'marigold_kitti',
    'eth3d': 'marigold_eth3d', 'scannet': 'marigold_scannet',
    'diode': 'marigold_diode', 'hypersim': 'marigold_hypersim',
    'vkitti': 'marigold_vkitti', 'megadepth': 'jointnet_megadepth',
    'nyud_mt': 'invpt_nyud', 'synthetic': 'synthetic_scenes',
}


def get_depth_preset(name: str) -> dict:
    """Return a copy of a preset by preset name or protocol name."""
    key = PROTOCOL_TO_PRESET.get(name, name)
    if key not in DEPTH_PRESETS:
        raise KeyError(f'unknown depth protocol/preset {name!r}; presets: '
                       f'{sorted(DEPTH_PRESETS)}, protocols: '
                       f'{sorted(PROTOCOL_TO_PRESET)}')
    return copy.deepcopy(DEPTH_PRESETS[key])
