"""rosbag2 bags without ROS: read, write, make from pairs, evaluate offline (ROS-free).

Built on the ``rosbags`` library; bags are standard rosbag2 folders (mcap or sqlite3) with
type names and RIHS01 hashes, so ``ros2 bag play`` and Foxglove open them.
"""

from tsjnet_ros.core.bag.evaluation import EvaluationOptions, EvaluationResult, evaluate_bag
from tsjnet_ros.core.bag.frame_sources import FolderSource, SourceFrame, SyntheticSource
from tsjnet_ros.core.bag.maker import CameraTiming, MakeOptions, MakeSummary, make_bag
from tsjnet_ros.core.bag.messages import (
    boxes_from_detections,
    detections_message,
    image_cdr,
    image_message,
)
from tsjnet_ros.core.bag.pairing import BagPair, PairAccount, PairStream, plan_pairs
from tsjnet_ros.core.bag.problems import BagError, BagProblem
from tsjnet_ros.core.bag.reader import BagReader, RawMessage, TopicInfo
from tsjnet_ros.core.bag.topics import InputTopics, OutputTopics
from tsjnet_ros.core.bag.typestore import bag_typestore
from tsjnet_ros.core.bag.writer import BagWriter

__all__ = [
    'BagError',
    'BagPair',
    'BagProblem',
    'BagReader',
    'BagWriter',
    'CameraTiming',
    'EvaluationOptions',
    'EvaluationResult',
    'FolderSource',
    'InputTopics',
    'MakeOptions',
    'MakeSummary',
    'OutputTopics',
    'PairAccount',
    'PairStream',
    'RawMessage',
    'SourceFrame',
    'SyntheticSource',
    'TopicInfo',
    'bag_typestore',
    'boxes_from_detections',
    'detections_message',
    'evaluate_bag',
    'image_cdr',
    'image_message',
    'make_bag',
    'plan_pairs',
]
