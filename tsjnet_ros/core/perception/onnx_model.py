"""One ONNX image model under onnxruntime: session, input geometry and preprocessing.

The model takes one image tensor, NCHW (or NHWC) with 1 or 3 channels (RGB), float32,
float16 or uint8. Fixed input sizes come from the model; a model with free height/width
runs at ``input_size`` when given, otherwise at the camera size padded to a multiple of
32. Every frame is letterboxed into that size (:class:`Letterbox`). Pixel values:
``unit`` = x / 255 (YOLO exports), ``imagenet`` = (x / 255 - mean) / std with the
ImageNet statistics (torchvision models). Execution providers: CUDA where onnxruntime
has it and the device allows, else CPU.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tsjnet_ros.core.perception.letterbox import Letterbox
from tsjnet_ros.core.runtime.cpu_threads import choose_cpu_threads

logger = logging.getLogger('tsjnet_ros')

NORMALIZATIONS = {
    'unit': ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    'imagenet': ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}
INPUT_TYPES = {
    'tensor(float)': np.float32,
    'tensor(float16)': np.float16,
    'tensor(uint8)': np.uint8,
}
FREE_SIZE_MULTIPLE = 32  # total stride of common detectors and segmenters


@dataclass(frozen=True)
class TensorInfo:
    """Name, shape and element type of a model tensor.

    The shape holds ints; None or a string for a free dimension.
    """

    name: str
    shape: tuple[Any, ...]
    type: str

    def dims(self) -> list[Any]:
        return [d if isinstance(d, int) else None for d in self.shape]

    def describe(self) -> str:
        shape = ', '.join(str(d) if isinstance(d, int) else (d or '?') for d in self.shape)
        return f'{self.name} [{shape}] {self.type.removeprefix("tensor(").rstrip(")")}'


def describe_tensors(tensors: Sequence[TensorInfo]) -> str:
    return '; '.join(t.describe() for t in tensors) or 'none'


def execution_providers(device: str) -> list[Any]:
    """Onnxruntime providers for ``device`` (``auto``, ``cpu``, ``cuda`` or ``cuda:N``)."""
    import onnxruntime as ort

    name = str(device)
    kind, _, index = name.partition(':')
    if kind not in ('auto', 'cpu', 'cuda') or (index and (kind != 'cuda' or not index.isdigit())):
        raise ValueError(f"invalid device {name!r}; use 'auto', 'cpu' or 'cuda:N'")
    if kind == 'cpu':
        return ['CPUExecutionProvider']
    if 'CUDAExecutionProvider' in ort.get_available_providers():
        return [('CUDAExecutionProvider', {'device_id': int(index or 0)}), 'CPUExecutionProvider']
    if kind == 'cuda':
        logger.warning(
            'device %s requested but onnxruntime has no CUDA provider; '
            'running the ONNX model on the CPU',
            name,
        )
    return ['CPUExecutionProvider']


def _tensor_infos(args: Sequence[Any]) -> list[TensorInfo]:
    return [TensorInfo(a.name, tuple(a.shape), a.type) for a in args]


class OnnxImageModel:
    """An ONNX model with one image input; see the module docstring.

    ``input_size`` (h, w) sets the size of a model with free height/width (0 or None =
    camera size padded to a multiple of 32); for a fixed-size model it must match.
    Raises ValueError for a file that is missing or not a loadable model, and for inputs
    this class cannot feed, naming what was found.
    """

    def __init__(
        self,
        path: str | Path,
        input_size: Sequence[int] | None = None,
        normalization: str = 'unit',
        device: str = 'auto',
        cpu_threads: int = 0,
    ) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f'normalization must be one of {", ".join(NORMALIZATIONS)}, got {normalization!r}'
            )
        if not self.path.is_file():
            raise ValueError(f'ONNX model {self.path} does not exist')
        options = ort.SessionOptions()
        options.intra_op_num_threads = choose_cpu_threads(cpu_threads)
        options.log_severity_level = 3  # errors only; onnxruntime warns about unused initializers
        providers = execution_providers(device)
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise ValueError(f'cannot load ONNX model {self.path}: {exc}') from None
        self.providers = list(self.session.get_providers())
        self.inputs = _tensor_infos(self.session.get_inputs())
        self.outputs = _tensor_infos(self.session.get_outputs())
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        mean, std = NORMALIZATIONS[normalization]
        self._mean = np.asarray(mean, np.float32) * 255.0
        self._inv_std = 1.0 / (np.asarray(std, np.float32) * 255.0)
        self._read_input(input_size)

    def _read_input(self, input_size: Sequence[int] | None) -> None:
        if len(self.inputs) != 1:
            raise ValueError(
                f'{self.path.name}: expected one image input, '
                f'found {describe_tensors(self.inputs)}'
            )
        info = self.inputs[0]
        dims = info.dims()
        if len(dims) != 4:
            raise ValueError(
                f'{self.path.name}: image input must be 4-D (NCHW or NHWC), '
                f'found {info.describe()}'
            )
        self.channels_last = dims[1] not in (1, 3, None) and dims[3] in (1, 3)
        channels = dims[3] if self.channels_last else dims[1]
        self.channels = 3 if channels is None else channels
        if self.channels not in (1, 3):
            raise ValueError(
                f'{self.path.name}: image input needs 1 or 3 channels, found {info.describe()}'
            )
        if info.type not in INPUT_TYPES:
            raise ValueError(
                f'{self.path.name}: image input type must be float, float16 or uint8, '
                f'found {info.describe()}'
            )
        self._dtype = INPUT_TYPES[info.type]
        fixed = tuple(dims[1:3] if self.channels_last else dims[2:4])
        requested = (
            tuple(int(v) for v in input_size)
            if input_size is not None and any(input_size)
            else None
        )
        if requested is not None and (len(requested) != 2 or min(requested) < 1):
            raise ValueError(
                f'input size must be [height, width] > 0, got {list(input_size or [])}'
            )
        if None not in fixed:
            if requested is not None and requested != fixed:
                raise ValueError(
                    f'{self.path.name} has a fixed input size {fixed[0]}x{fixed[1]} (h x w); '
                    f'the requested input size {requested[0]}x{requested[1]} does not match'
                )
            self.input_size: tuple[int, int] | None = fixed
        else:
            self.input_size = requested

    def network_size(self, image_size: tuple[int, int]) -> tuple[int, int]:
        """(h, w) the model runs at for a camera image of (H, W)."""
        if self.input_size is not None:
            return self.input_size
        from tsjnet_ros.core.model.padding import (
            padded_size,
        )  # torch: not needed to read the settings

        return padded_size(int(image_size[0]), int(image_size[1]), FREE_SIZE_MULTIPLE)

    def prepare(self, image: np.ndarray) -> tuple[np.ndarray, Letterbox]:
        """(H, W) or (H, W, 3) RGB uint8 -> (input tensor, its letterbox)."""
        if (
            image.dtype != np.uint8
            or image.ndim not in (2, 3)
            or (image.ndim == 3 and image.shape[2] != 3)
        ):
            raise ValueError(
                f'expected an HxW or HxWx3 uint8 image, got {image.dtype} {image.shape}'
            )
        if self.channels == 1 and image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        elif self.channels == 3 and image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
        # A free-size model gets the camera image unscaled, only padded to the stride.
        box = Letterbox.fit(
            image.shape[:2],
            self.network_size(image.shape[:2]),
            scale_up=self.input_size is not None,
        )
        hwc = box.apply(image).reshape(*box.target_size, self.channels)
        if self._dtype == np.uint8:
            tensor = hwc
        else:
            tensor = (
                (hwc.astype(np.float32) - self._mean[: self.channels])
                * self._inv_std[: self.channels]
            ).astype(self._dtype)
        if not self.channels_last:
            tensor = tensor.transpose(2, 0, 1)
        return np.ascontiguousarray(tensor[None]), box

    def run(self, tensor: np.ndarray) -> list[np.ndarray]:
        """All outputs of one forward pass, in the model's output order."""
        return self.session.run(None, {self.inputs[0].name: tensor})
