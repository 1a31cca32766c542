"""tsjnet-model-card prints and writes every model-card figure for a split."""

from pathlib import Path

import cv2
import numpy as np

from tsjnet_ros.core.model.checkpoint import create_untrained_checkpoint
from tsjnet_ros.core.model.heads.config import HEADS_PRESETS
from tsjnet_ros.tools.model_card import BEGIN, END, main


def _pairs(root: Path, names: list[str]) -> None:
    rng = np.random.default_rng(0)
    for sub in ('ir', 'vi', 'labels/fused'):
        (root / sub).mkdir(parents=True)
    (root / 'labels' / 'classes.txt').write_text('person\nbicycle\ncar\n')
    for name in names:
        ir = cv2.GaussianBlur(rng.integers(0, 255, (96, 128)).astype(np.uint8), (5, 5), 2)
        ir[30:70, 40:56] = 230  # a warm person
        cv2.imwrite(str(root / 'ir' / f'{name}.png'), ir)
        cv2.imwrite(
            str(root / 'vi' / f'{name}.png'), rng.integers(0, 255, (96, 128, 3)).astype(np.uint8)
        )
        (root / 'labels' / 'fused' / f'{name}.txt').write_text('0 0.375 0.5208 0.125 0.4167\n')


def test_model_card_prints_and_writes_the_figures(tmp_path: Path, capsys) -> None:
    _pairs(tmp_path / 'data', ['00001N', '00002D', '00003N'])
    split = tmp_path / 'val.txt'
    split.write_text('# split\n00001N\n00003N\n')
    ckpt = create_untrained_checkpoint(
        tmp_path / 'm.pt',
        fusion_config={'image_head': 'pyramid_blend', 'work_scale': 0.5},
        heads_config=HEADS_PRESETS['rt'],
    )
    card = tmp_path / 'README.md'
    card.write_text(f'# card\n{BEGIN}\nold\n{END}\ntail\n')
    assert (
        main(
            [
                '--data',
                str(tmp_path / 'data'),
                '--names-file',
                str(split),
                '--checkpoint',
                str(ckpt),
                '--plot',
                str(tmp_path / 'frontier.png'),
                '--write',
                str(card),
                '--workers',
                '1',
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert '2 pairs' in out
    for row in (
        '| average |',
        '| laplacian_pyramid |',
        '| pyramid base 0.8 |',
        '| **shipped checkpoint** |',
        '| fused (shipped) |',
    ):
        assert row in out
    assert 'AP50 person' in out and 'classical methods at least as good' in out
    text = card.read_text()
    assert 'old' not in text and text.startswith('# card\n') and text.endswith(f'{END}\ntail\n')
    assert '| average |' in text and (tmp_path / 'frontier.png').stat().st_size > 1000
