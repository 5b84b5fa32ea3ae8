"""tools/analysis_tools/eval_tiny_family.py end to end at toy size: both
prompt-following judges and their ceilings, the Fréchet figures and the
grids, for the shipped DiT and its seeded random control."""
import json
import os.path as osp

import pytest

from tools.analysis_tools import eval_tiny_family


def test_prints_both_judges_and_a_reproducible_random_control(tmp_path,
                                                              capsys):
    def run(out):
        eval_tiny_family.main([
            '--parts', 'transformer', '--num-prompts', '6', '--num-fid',
            '6', '--steps', '2', '--batch-size', '6', '--random-control',
            '--out-dir', str(out)])
        with open(osp.join(out, 'metrics.json')) as f:
            return json.load(f)

    report = run(tmp_path / 'a')
    printed = capsys.readouterr().out
    for judge in ('', 'classifier_'):
        for who in ('probe/real_', 'probe/vae_round_trip_', 'transformer/',
                    'transformer/random_'):
            for key in ('walls', 'floor', 'both'):
                name = f'{who}prompt_following_{judge}{key}'
                assert 0 <= report[name] <= 100, name
                assert f'{name}=' in printed
    # the classifier reads real renders (nearly) perfectly: its ceiling
    assert report['probe/real_prompt_following_classifier_both'] == 100
    # the VAE round trip is no better than the renders themselves
    for key in ('walls', 'floor', 'both'):
        assert report[f'probe/vae_round_trip_prompt_following_classifier_'
                      f'{key}'] <= report[
                          f'probe/real_prompt_following_classifier_{key}']
    assert report['transformer/random_frechet_random_conv'] > \
        report['transformer/real_vs_real_frechet_random_conv']
    assert osp.isfile(tmp_path / 'a' / 'random_samples_transformer.png')
    # where the misses go: every prompt counted once per attribute, and the
    # counts agree with the accuracy printed
    with open(tmp_path / 'a' / 'confusion.json') as f:
        confusion = json.load(f)
    for who, prefix in (('transformer', 'transformer/'),
                        ('random_transformer', 'transformer/random_')):
        for key in ('walls', 'floor'):
            table = confusion[who][key]
            assert sum(sum(row.values()) for row in table.values()) == 6
            right = sum(row.get(named, 0) for named, row in table.items())
            assert 100 * right / 6 == pytest.approx(
                report[f'{prefix}prompt_following_classifier_{key}'])
    assert 'random_transformer: most frequent misses (classifier)' in printed
    # the random control does not depend on what ran before it
    import torch
    torch.rand(100)
    again = run(tmp_path / 'b')
    assert again['transformer/random_frechet_random_conv'] == \
        report['transformer/random_frechet_random_conv']
