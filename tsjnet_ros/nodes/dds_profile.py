"""Point Fast DDS at the shipped large-image transport profile before ROS starts.

Fast DDS sends a message bigger than its 512 KB shared-memory segment between processes
as fragmented UDP, several times slower for a 640x480 colour image; see
``config/fastdds_large_images.xml``. Our executables call :func:`use_large_image_profile`
before ``rclpy.init`` and the launch file passes :func:`profile_environment` to its
processes. A profile the user chose (``FASTDDS_DEFAULT_PROFILES_FILE`` or the older
``FASTRTPS_DEFAULT_PROFILES_FILE``) and other middlewares are left alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from tsjnet_ros.resources import config_file

PROFILE_VARIABLE = 'FASTDDS_DEFAULT_PROFILES_FILE'
LEGACY_PROFILE_VARIABLE = 'FASTRTPS_DEFAULT_PROFILES_FILE'
PROFILE_NAME = 'fastdds_large_images.xml'


def large_image_profile() -> Path:
    return config_file(PROFILE_NAME)


def profile_environment(
    profile: str | Path | None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return the variables that make Fast DDS load ``profile``.

    Empty when no profile is given, the environment already names one, or the middleware is
    not Fast DDS.
    """
    env = os.environ if environ is None else environ
    if not profile or not env.get('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp').startswith(
        'rmw_fastrtps'
    ):
        return {}
    if env.get(PROFILE_VARIABLE) or env.get(LEGACY_PROFILE_VARIABLE):
        return {}
    return {PROFILE_VARIABLE: str(profile)}


def use_large_image_profile(environ: MutableMapping[str, str] | None = None) -> Path | None:
    """Set the shipped profile in this process's environment where nothing else is chosen.

    Returns the profile set, or None when the environment was left as it was.
    """
    env = os.environ if environ is None else environ
    try:
        profile = large_image_profile()
    except FileNotFoundError:
        return None
    chosen = profile_environment(profile, env)
    env.update(chosen)
    return profile if chosen else None
