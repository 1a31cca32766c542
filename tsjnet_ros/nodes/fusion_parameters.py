"""Parameters of the fusion node: one table with defaults, descriptions, ranges and mutability.

Declaring them from a table keeps the YAML, the README and the node in agreement, and lets
rclpy reject out-of-range values set at runtime before the node sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

from tsjnet_ros.core.image.color import fixed_range_scaler
from tsjnet_ros.core.fusion import available_backends
from tsjnet_ros.core.preparation.pair_alignment import RESIZE_POLICIES
from tsjnet_ros.core.perception.detection_layouts import LAYOUTS
from tsjnet_ros.core.perception.onnx_model import NORMALIZATIONS
from tsjnet_ros.core.perception.settings import TASK_BACKENDS
from tsjnet_ros.core.sync import POLICIES

TRANSPORTS = ("raw", "compressed")
OUTPUTS = ("fused", "fused_color", "detections", "segmentation", "segmentation_color", "frame", "status")


@dataclass(frozen=True)
class Spec:
    default: Any
    description: str
    read_only: bool = True
    float_range: tuple[float, float] | None = None
    int_range: tuple[int, int] | None = None
    choices: tuple[str, ...] | None = None

    def descriptor(self) -> ParameterDescriptor:
        text = self.description
        if self.choices:
            text += f" ({' | '.join(self.choices)})"
        d = ParameterDescriptor(description=text, read_only=self.read_only)
        if self.float_range:
            d.floating_point_range = [FloatingPointRange(from_value=self.float_range[0], to_value=self.float_range[1])]
        if self.int_range:
            d.integer_range = [IntegerRange(from_value=self.int_range[0], to_value=self.int_range[1], step=1)]
        return d


FUSION_PARAMETERS: dict[str, Spec] = {
    "autostart": Spec(True, "configure and activate at start-up (false: wait for lifecycle transitions)"),
    "fusion_backend": Spec("tsjnet", "fusion method", choices=tuple(available_backends())),
    "checkpoint": Spec("", "model checkpoint file for the tsjnet backend ('' = the shipped default)"),
    "device": Spec("auto", "inference device: auto | cpu | cuda:N (missing CUDA falls back to CPU)"),
    "precision": Spec("fp32", "inference precision", choices=("fp32", "bf16", "fp16")),
    "compile": Spec(False, "torch.compile the model at configure time (slower start, faster frames)"),
    "cpu_threads": Spec(0, "intra-op CPU threads for inference (0 = the CPUs this process may use, at most 8)",
                        int_range=(0, 256)),
    "inference_size": Spec([0, 0], "[height, width] the tsjnet model runs at; outputs stay in camera pixels "
                           "([0, 0] = camera size; e.g. [480, 640] for a 1280x1024 camera)"),
    "sync_policy": Spec("approximate", "IR/visible pairing policy", choices=POLICIES),
    "slop": Spec(0.05, "largest accepted IR/visible stamp difference (s)", float_range=(0.0, 1.0)),
    "queue_size": Spec(10, "messages kept per camera while pairing", int_range=(1, 1000)),
    "input_qos": Spec("SENSOR_DATA", "camera subscription QoS, PRESET[:DEPTH]"),
    "output_qos": Spec("DEFAULT", "output QoS, PRESET[:DEPTH]"),
    "resize_to": Spec("visible", "camera whose pixels, size and header the outputs use", choices=RESIZE_POLICIES),
    "registration": Spec("", "YAML with the IR-to-visible homography (tsjnet-register); '' = resize only"),
    "ir_range": Spec([0.0, 0.0], "fixed IR value range [low, high] in camera units (counts, degC, K); "
                     "[0, 0] = automatic gain"),
    "visible_range": Spec([0.0, 0.0], "fixed range [low, high] of a visible camera wider than 8 bit; "
                          "[0, 0] = automatic gain"),
    "ir_transport": Spec("raw", "IR input: raw (sensor_msgs/Image) or compressed (CompressedImage on <topic>/compressed)",
                         choices=TRANSPORTS),
    "visible_transport": Spec("raw", "visible input: raw or compressed (CompressedImage on <topic>/compressed)",
                              choices=TRANSPORTS),
    "score_threshold": Spec(0.3, "lowest detection score published", read_only=False, float_range=(0.0, 1.0)),
    "nms_iou": Spec(0.6, "IoU above which overlapping detections are suppressed", read_only=False, float_range=(0.0, 1.0)),
    "max_detections": Spec(100, "most detections per frame", read_only=False, int_range=(1, 1000)),
    "classes": Spec([""], "detection class names to keep ([''] or [] = all)", read_only=False),
    "class_id_format": Spec("id", "hypothesis.class_id content: numeric id or class name", read_only=False, choices=("id", "name")),
    "detector_backend": Spec("tsjnet", "detections from the TSJNet head or an ONNX model run on the fused image", choices=TASK_BACKENDS),
    "detector_model": Spec("", "ONNX detector file (detector_backend onnx)"),
    "detector_labels": Spec("", "class names: text file, one per line, or YAML 'names' ('' = model metadata or 0..C-1)"),
    "detector_layout": Spec("auto", "ONNX detector output layout (auto = from the output shapes)", choices=LAYOUTS),
    "detector_input_size": Spec([0, 0], "[height, width] for an ONNX detector with a free input size ([0, 0] = camera size padded to 32)"),
    "detector_normalization": Spec("unit", "ONNX detector pixel scaling: x/255 or ImageNet mean/std", choices=tuple(NORMALIZATIONS)),
    "segmentation_backend": Spec("tsjnet", "segmentation from the TSJNet head or an ONNX model on the fused image", choices=TASK_BACKENDS),
    "segmentation_model": Spec("", "ONNX segmenter file (segmentation_backend onnx)"),
    "segmentation_labels": Spec("", "segmentation class names, same formats as detector_labels"),
    "segmentation_input_size": Spec([0, 0], "[height, width] for an ONNX segmenter with a free input size"),
    "segmentation_normalization": Spec("unit", "ONNX segmenter pixel scaling", choices=tuple(NORMALIZATIONS)),
    "outputs": Spec(list(OUTPUTS), f"outputs to produce, any of {', '.join(OUTPUTS)}"),
    "stream_timeout": Spec(2.0, "seconds without one camera before warning", read_only=False, float_range=(0.1, 60.0)),
}


def validate(name: str, value: Any) -> str | None:
    """Reason a value is invalid beyond what the descriptor checks (None when fine)."""
    spec = FUSION_PARAMETERS.get(name)
    if spec is None:
        return None
    if spec.choices and value not in spec.choices:
        return f"{name} must be one of {', '.join(spec.choices)}, got {value!r}"
    if name in ("ir_range", "visible_range"):
        try:
            fixed_range_scaler(value)
        except ValueError as exc:
            return f"{name} {exc}"
    if name == "inference_size":
        values = list(value)
        if len(values) != 2 or (any(values) and min(values) < 32):
            return f"inference_size must be [height, width] with both >= 32, or [0, 0] for the camera size, got {values}"
    if name == "registration" and value:
        from tsjnet_ros.core.preparation.registration import Registration

        try:
            Registration.load(value)
        except (OSError, ValueError) as exc:
            return f"registration: {exc}"
    if name == "outputs":
        unknown = [v for v in value if v and v not in OUTPUTS]
        if unknown:
            return f"unknown outputs {unknown}; choose from {', '.join(OUTPUTS)}"
    return None
