"""Round trip: pairs -> bag -> offline evaluation equals the direct evaluation of the pairs."""

import json

import cv2
import numpy as np
import pytest

from tsjnet_ros.core.bag.messages import boxes_from_detections, image_array, stamp_ns
from tsjnet_ros.core.bag.reader import BagReader
from tsjnet_ros.core.synthetic import SyntheticScene
from tsjnet_ros.tools.bag import main as bag_main
from tsjnet_ros.tools.evaluate import main as eval_main

PAIRS = 5


@pytest.fixture(scope="module")
def pair_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pairs")
    (folder / "ir").mkdir()
    (folder / "vi").mkdir()
    scene = SyntheticScene(96, 72, num_targets=4, seed=3)
    for k in range(PAIRS):
        frame = scene.render(k * 0.1)
        cv2.imwrite(str(folder / "ir" / f"{k:03d}.png"), frame.ir)
        cv2.imwrite(str(folder / "vi" / f"{k:03d}.png"), cv2.cvtColor(frame.visible, cv2.COLOR_RGB2BGR))
    return folder


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_bag_evaluation_equals_direct_evaluation(pair_folder, tmp_path, storage):
    assert eval_main([str(pair_folder), "--out", str(tmp_path / "direct"), "--method", "laplacian_pyramid",
                      "--contact-sheet", "0", "--no-progress"]) == 0
    direct = json.loads((tmp_path / "direct" / "metrics.json").read_text())
    direct_per_image = direct["datasets"][pair_folder.name]["methods"]["laplacian_pyramid"]["per_image"]

    bag, report = tmp_path / "bag", tmp_path / "report"
    assert bag_main(["make", "--source", str(pair_folder), "--out", str(bag), "--storage", storage, "--no-progress"]) == 0
    assert bag_main(["evaluate", str(bag), "--out", str(report), "--backend", "laplacian_pyramid",
                     "--out-storage", storage, "--no-progress"]) == 0
    document = json.loads((report / "report.json").read_text())
    summary = document["summary"]
    assert summary["pairs"] == {"expected": PAIRS, "processed": PAIRS, "flushed_at_end": 1}
    assert summary["unpaired_images"] == {"ir": 0, "visible": 0} and summary["problems"] == []
    for pair, name in zip(document["pairs"], sorted(direct_per_image)):
        for metric, value in direct_per_image[name].items():
            if metric != "fuse_ms":
                assert pair["metrics"][metric] == pytest.approx(value, rel=1e-12, abs=1e-12), (name, metric)
    for path in ("report.md", "metrics.md", "metrics.csv", "metrics.json", "contact_sheet.png", "per_frame_metrics.png", "latency.png"):
        assert (report / path).is_file(), path
    assert cv2.imread(str(report / "contact_sheet.png")).shape[1] == 5 * 256

    with BagReader(bag) as reader:
        inputs = [reader.deserialize(m) for m in reader.messages(["/visible/image"])]
    with BagReader(report / "fused_bag") as out:
        assert out.storage == storage
        counts = {t: info.count for t, info in out.topics.items()}
        assert counts == {"/fused/image": PAIRS, "/debug/overlay": PAIRS, "/detections": PAIRS}
        fused = [out.deserialize(m) for m in out.messages(["/fused/image"])]
        detections = [out.deserialize(m) for m in out.messages(["/detections"])]
    assert [stamp_ns(m.header) for m in fused] == [stamp_ns(m.header) for m in inputs] == [p["stamp_ns"] for p in document["pairs"]]
    assert {m.header.frame_id for m in fused} == {"camera_optical_frame"}
    assert all(m.encoding == "mono8" and image_array(m).shape == (72, 96) for m in fused)
    assert all(len(boxes_from_detections(d).boxes) == 0 for d in detections)  # a classical backend detects nothing
    assert [stamp_ns(d.header) for d in detections] == [stamp_ns(m.header) for m in fused]


def test_synthetic_bag_with_unequal_rates_processes_every_formed_pair(tmp_path):
    bag, report = tmp_path / "bag", tmp_path / "report"
    assert bag_main(["make", "--out", str(bag), "--duration", "0.5", "--width", "64", "--height", "48",
                     "--ir-rate", "20", "--visible-rate", "30", "--ir-encoding", "mono16", "--no-progress"]) == 0
    assert bag_main(["evaluate", str(bag), "--out", str(report), "--metrics", "EN,SD", "--contact-sheet", "2", "--no-progress"]) == 0
    summary = json.loads((report / "report.json").read_text())["summary"]
    assert summary["messages"] == {"ir": 10, "visible": 15}
    assert summary["pairs"]["processed"] == summary["pairs"]["expected"] == 10
    assert summary["unpaired_images"] == {"ir": 0, "visible": 5}
    # boxes of the 5 unpaired visible frames match no pair; class maps are not read for a backend without segmentation
    assert summary["ground_truth"] == {"detections": True, "segmentation": True, "unmatched_messages": 5}
    assert set(summary["fusion_metrics_mean"]) == {"EN", "SD"} and np.isfinite(summary["fusion_metrics_mean"]["EN"])
    with BagReader(bag) as reader:
        assert reader.topics["/ir/image"].msgtype == "sensor_msgs/msg/Image"
        first_ir = reader.deserialize(next(iter(reader.messages(["/ir/image"]))))
        assert first_ir.encoding == "mono16" and image_array(first_ir).dtype == np.uint16
        assert json.loads(reader.custom_data["tsjnet.detection_class_names"]) == ["person", "bicycle", "car"]
