"""ament_python package definition (works with colcon on a distro and with pip in a venv)."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = 'tsjnet_ros'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(include=[PACKAGE, f'{PACKAGE}.*']),
    data_files=[
        ('share/ament_index/resource_index/packages', [f'resource/{PACKAGE}']),
        (f'share/{PACKAGE}', ['package.xml']),
        (f'share/{PACKAGE}/launch', glob('launch/*.launch.py')),
        (
            f'share/{PACKAGE}/config',
            glob('config/*.yaml') + glob('config/*.rviz') + glob('config/*.xml'),
        ),
        (f'share/{PACKAGE}/config/train', glob('config/train/*.yaml')),
        (f'share/{PACKAGE}/models', glob('models/*.pt') + glob('models/*.md')),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='tsjnet_ros maintainers',
    maintainer_email='maintainers@tsjnet-ros.dev',
    description='Infrared + visible image fusion (TSJNet) with detection '
    'and segmentation for ROS 2.',
    license='MIT',
    entry_points={
        'console_scripts': [
            'tsjnet-run = tsjnet_ros.tools.run:main',
            'tsjnet-graph = tsjnet_ros.tools.graph:main',
            'fusion_graph = tsjnet_ros.tools.graph:main',
            'tsjnet-fuse = tsjnet_ros.tools.fuse:main',
            'tsjnet-eval = tsjnet_ros.tools.evaluate:main',
            'tsjnet-bag = tsjnet_ros.tools.bag:main',
            'tsjnet-train = tsjnet_ros.tools.train:main',
            'tsjnet-register = tsjnet_ros.tools.register:main',
            'tsjnet-convert = tsjnet_ros.tools.convert:main',
            'tsjnet-model-card = tsjnet_ros.tools.model_card:main',
            'fusion_node = tsjnet_ros.nodes.fusion_node:main',
            'synthetic_cameras = tsjnet_ros.nodes.synthetic_cameras:main',
            'fused_image_recorder = tsjnet_ros.nodes.fused_image_recorder:main',
            'debug_overlay = tsjnet_ros.nodes.debug_overlay_node:main',
        ],
    },
)
