"""LiveTensorMemory: peak tensor memory on CPU, counted per storage."""
import torch
import torch.nn as nn

from unidense.utils.live_memory import LiveTensorMemory, resident_tensors


def test_counts_each_storage_once_and_frees():
    x = torch.zeros(1000)  # 4000 bytes, resident
    with LiveTensorMemory(resident=[x]) as tracker:
        a = torch.ones(250)              # +1000
        view = a[:10]                    # same storage: +0
        b = torch.ones(500)              # +2000 -> 3000 new alive
        del b                            # freed
        c = torch.ones(100)              # +400 -> 1400 alive
        x.add_(1)                        # resident, returned in place: +0
    assert tracker.resident_bytes == 4000
    assert tracker.new_peak_bytes == 3000
    assert tracker.current_bytes == 4000 + 1400
    assert tracker.peak_bytes == 7000
    del a, view, c
    assert tracker.current_bytes == 4000


def test_training_step_of_an_mlp_matches_the_analytic_count():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 64))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    params = sum(p.numel() for p in net.parameters()) * 4
    x = torch.randn(32, 64)
    tracker = LiveTensorMemory(resident=[net, opt])
    with tracker:
        net(x).square().mean().backward()
        opt.step()
    assert tracker.resident_bytes == params  # SGD without momentum: no state
    # gradients (one copy of the weights) stay alive after the step
    assert tracker.current_bytes >= 2 * params
    # ... and the hidden activations (32 x 256 floats, twice: pre- and
    # post-ReLU) were alive together with part of them
    assert tracker.new_peak_bytes >= params + 32 * 256 * 4
    # parameters and, now, their gradients
    sizes = sorted(p.numel() for p in net.parameters())
    assert sorted(t.numel() for t in resident_tensors(net)) == sorted(
        sizes + sizes)
