"""tools/analysis_tools/benchmark.py: name=value lines, a JSON record with
the machine, and figures that hold whatever the machine's speed (FLOPs
ratios, cache counts)."""
import json

from tools.analysis_tools import benchmark


def test_suites_print_and_record_figures(tmp_path, capsys):
    out = tmp_path / 'bench.json'
    assert benchmark.main(['merge', 'selfimprove', 'panorama', 'throughput',
                      '--repeats', '1', '--batch', '4', '--panorama-steps',
                      '2', '--methods', 'vpd_depth', '--sizes', '32',
                      '--out', str(out)]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines()
             if '=' in ln and not ln.startswith('#')]
    printed = dict(ln.split('=', 1) for ln in lines)
    record = json.loads(out.read_text())
    assert set(record['figures']) == set(printed)
    assert record['machine']['threads'] >= 1 and record['machine']['cpu']
    fig = record['figures']
    # MERGE's converters add compute to the frozen DiT's
    assert fig['merge.depth_over_t2i_flops'] > 1.0
    assert fig['merge.depth_over_t2i_time'] > 0
    # the cached stage-2 step skips the backbone: a fraction of the FLOPs,
    # the 4 images seen in the warm-up round are hits afterwards
    assert 0 < fig['selfimprove.cached_over_plain_flops'] < 0.5
    assert fig['selfimprove.cache_misses'] == 4
    assert fig['selfimprove.cache_hits'] > 0
    # overlapping tiles cover the canvas more than once
    assert fig['panorama.tiled_over_plain_flops'] > 1.5
    # one throughput figure and one speed-up per switch (compile is opt-in)
    assert fig['throughput.vpd_depth.32px.images_per_s'] > 0
    assert {k for k in fig if k.endswith('_speedup')} == {
        f'throughput.vpd_depth.32px.{s}_speedup'
        for s in ('math_attention', 'channels_last', 'autocast_bf16')}


def test_interleaved_takes_medians_of_alternating_runs():
    order = []
    times = benchmark.interleaved(dict(a=lambda: order.append('a'),
                                  b=lambda: order.append('b')),
                             repeats=3, warmup=1)
    assert order == ['a', 'b'] + ['a', 'b'] * 3
    assert set(times) == {'a', 'b'} and min(times.values()) >= 0
