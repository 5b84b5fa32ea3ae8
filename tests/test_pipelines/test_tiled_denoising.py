"""TiledDenoiser (JointNet panoramas / refinement) and the wrapped decode."""
import pytest
import torch

from unidense.pipelines import TiledDenoiser, decode_wrapped, ramp_weights
from unidense.pipelines.tiled_denoising import tile_starts


def test_ramp_weights_match_the_official_linear_boundary():
    w = ramp_weights(4, 64, 8, 'x')[0]
    assert torch.allclose(w[:8], (torch.arange(8) + 0.5) / 8)
    assert torch.all(w[8:56] == 1)
    assert torch.allclose(w[56:], w[:8].flip(0))
    both = ramp_weights(16, 16, 4, 'xy')
    assert both[0, 8] == both[8, 0] == 0.125 and both[8, 8] == 1


def test_tile_layouts():
    # panorama 64 x 256 latents: one row of 8 wrapping tiles
    assert tile_starts(256, 64, 32, True) == list(range(0, 256, 32))
    # refinement 128 x 512: 3 rows x 15 columns, as the official upsampler
    assert len(tile_starts(128, 64, 32, False)) == 3
    assert len(tile_starts(512, 64, 32, False)) == 15
    # sizes that do not fit the stride: a last tile aligned to the edge
    assert tile_starts(100, 64, 32, False) == [0, 32, 36]
    assert tile_starts(40, 64, 32, False) == [0]


@pytest.mark.parametrize('wrap,offset,full', [
    (True, True, 0.4), (False, False, 0.0), (True, False, 1.0)])
def test_a_pointwise_model_is_reproduced_on_the_whole_canvas(wrap, offset,
                                                             full):
    """Weights are normalised per cell: tiling a pointwise function gives
    the function, whatever the layout, offset and full view."""
    calls = []

    def fn(x, t, spatial, step):
        calls.append(x.shape[0])
        return 2 * x + spatial[:, :1]

    tiler = TiledDenoiser(fn, tile_size=8, stride=4, wrap=wrap,
                          random_offset=offset, full_view=full, ramp=2,
                          ramp_axes='x' if wrap else 'xy', batch_size=3,
                          generator=torch.Generator().manual_seed(0))
    x, sp = torch.randn(2, 8, 12, 20), torch.randn(2, 1, 12, 20)
    out = tiler(x, torch.tensor(5), sp, (0, 10))
    assert torch.allclose(out, 2 * x + sp, atol=1e-5)
    (th, tw), views = tiler.views(12, 20)
    n_batches = -(-len(views) // 3)
    assert calls[:n_batches] == [2 * 3] * (n_batches - 1) + [
        2 * (len(views) - 3 * (n_batches - 1))]
    assert len(calls) == n_batches + (1 if full else 0)


def test_full_view_only_in_the_first_steps():
    calls = []
    tiler = TiledDenoiser(lambda x, t, s, st: calls.append(x.shape) or x,
                          tile_size=4, stride=4, wrap=True, full_view=0.4)
    x = torch.zeros(1, 8, 4, 8)
    tiler(x, 0, None, (4, 10))
    assert calls[-1] == (1, 8, 4, 8)     # i = 4 <= int(0.4 * 10)
    calls.clear()
    tiler(x, 0, None, (5, 10))
    assert all(c[-1] == 4 for c in calls)


def test_wrapping_tiles_see_both_edges():
    seen = []

    def fn(x, t, s, st):
        seen.append(x[:, 0, 0].clone())
        return x

    canvas = torch.arange(8.).view(1, 1, 1, 8).expand(1, 8, 1, 8)
    TiledDenoiser(fn, tile_size=(1, 4), stride=4, wrap=True,
                  batch_size=1)(canvas.contiguous(), 0, None, (0, 1))
    assert [s.tolist() for s in seen] == [[[0., 1., 2., 3.]],
                                          [[4., 5., 6., 7.]]]
    seen.clear()
    TiledDenoiser(fn, tile_size=(1, 4), stride=2, wrap=True,
                  batch_size=8)(canvas.contiguous(), 0, None, (0, 1))
    assert seen[0][3].tolist() == [6., 7., 0., 1.]


def test_random_offset_needs_wrap():
    with pytest.raises(ValueError, match='wrap'):
        TiledDenoiser(lambda *a: None, random_offset=True, wrap=False)


def test_decode_wrapped_pads_circularly():
    z = torch.randn(1, 4, 2, 6)

    def decode(x):  # nearest x2 "VAE" that sees its neighbours
        up = x.repeat_interleave(2, -1).repeat_interleave(2, -2)
        return up + 0.1 * torch.roll(up, 1, -1)

    out = decode_wrapped(decode, z, pad=2)
    assert out.shape == (1, 4, 4, 12)
    # column 0 now sees the last column of the canvas (seamless wrap)
    direct = decode(torch.roll(z, 1, -1))
    assert torch.allclose(out, torch.roll(direct, -2, -1))
