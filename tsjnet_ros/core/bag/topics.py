"""Topic names used in bags, configurable per command, with the project's defaults."""

from __future__ import annotations

from dataclasses import dataclass


def absolute(topic: str) -> str:
    """Bags store absolute names; ``ir/image`` is recorded as ``/ir/image``."""
    topic = topic.strip()
    if not topic or topic == '/':
        raise ValueError('topic name is empty')
    return topic if topic.startswith('/') else f'/{topic}'


@dataclass(frozen=True)
class InputTopics:
    """Camera and ground-truth topics of an input bag."""

    ir: str = '/ir/image'
    visible: str = '/visible/image'
    gt_detections: str = '/ground_truth/detections'
    gt_segmentation: str = '/ground_truth/segmentation'

    def __post_init__(self) -> None:
        for name in ('ir', 'visible', 'gt_detections', 'gt_segmentation'):
            object.__setattr__(self, name, absolute(getattr(self, name)))
        if self.ir == self.visible:
            raise ValueError(f'IR and visible topics must differ, both are {self.ir}')


@dataclass(frozen=True)
class OutputTopics:
    """Topics of the bag written by ``evaluate``: the fusion node's and the overlay node's."""

    fused: str = '/fused/image'
    fused_color: str = '/fused/image_color'
    detections: str = '/detections'
    segmentation: str = '/segmentation/image'
    overlay: str = '/debug/overlay'


# metadata.yaml custom_data keys written by ``make`` and read by ``evaluate``
CLASS_NAMES_KEY = 'tsjnet.detection_class_names'
SEGMENTATION_CLASSES_KEY = 'tsjnet.segmentation_class_names'
SOURCE_KEY = 'tsjnet.source'
STILLS_KEY = 'tsjnet.stills'  # "true": frames are still pairs played as a slide show
PAIR_NAMES_KEY = 'tsjnet.pair_names'  # JSON {visible stamp ns: input pair name}, still pairs only
GROUND_TRUTH_KEY = 'tsjnet.ground_truth'  # where the ground-truth boxes and class maps come from
