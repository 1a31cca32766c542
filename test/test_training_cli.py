"""tsjnet-train as a user meets it: where the data is, and what a second run in a folder does."""

from __future__ import annotations

from pathlib import Path

import yaml

from tsjnet_ros.tools.train import apply_data_root, main, missing_data_roots

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / 'config' / 'train' / 'tsjnet_rt.yaml'
TINY = REPO / 'config' / 'train' / 'tiny.yaml'


def test_data_root_points_every_dataset_into_one_folder(tmp_path):
    data = yaml.safe_load(TINY.read_text())
    data['data']['sources'].append({'root': '../shared/data/llvip'})
    data['validation'] = {'root': 'elsewhere/msrs'}
    apply_data_root(data, '/datasets')
    assert [s['root'] for s in data['data']['sources']] == ['/datasets/msrs', '/datasets/llvip']
    assert data['validation']['root'] == '/datasets/msrs'
    (tmp_path / 'msrs').mkdir()
    apply_data_root(data, str(tmp_path))
    assert [m.split(':')[0] for m in missing_data_roots(data)] == ['data.sources.1.root']


def test_missing_dataset_folders_of_the_shipped_config_stop_with_what_to_set(tmp_path, capsys):
    first = Path(yaml.safe_load(SHIPPED.read_text())['data']['sources'][0]['root']).name
    assert main([str(SHIPPED), '--data-root', str(tmp_path / 'nowhere'), '--no-progress']) == 2
    err = capsys.readouterr().err
    assert (
        'dataset folders not found' in err
        and f'{tmp_path / "nowhere" / first} (resolved from' in err
    )
    assert (
        f'--data-root DIR (the folder holding {first}/) or --set data.sources.0.root=PATH' in err
    )


def test_a_second_run_in_the_folder_says_it_resumes_and_counts_only_its_own_steps(
    shared_data, tmp_path, capsys
):
    args = [
        str(TINY),
        '--no-progress',
        '--data-root',
        str(shared_data),
        '--set',
        'stages.0.steps=1',
        '--set',
        'stages.1.steps=1',
        '--set',
        'data.sources.0.max_side=64',
        '--set',
        'data.crop_size=[32,32]',
        '--set',
        f'output_dir={tmp_path / "run"}',
        '--set',
        'checkpoint_every=1',
    ]
    assert main([*args, '--stop-after', '1']) == 0
    out = capsys.readouterr().out
    assert 'trained 1 steps in this call (step 0 -> 1 of 2)' in out and 'resuming' not in out
    assert main(args) == 0
    out = capsys.readouterr().out
    assert 'resuming the run in' in out and 'from step 1 of 2' in out
    assert 'trained 1 steps in this call (step 1 -> 2 of 2)' in out
    assert main(args) == 0
    out = capsys.readouterr().out
    assert 'nothing to train: the run already reached step 2 of 2' in out
    assert 'trained 0 steps in this call (step 2 -> 2 of 2)' in out
    assert main([*args, '--restart', '--stop-after', '1']) == 0
    assert 'trained 1 steps in this call (step 0 -> 1 of 2)' in capsys.readouterr().out
