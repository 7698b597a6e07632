"""Attitude rotations: the Z-Y-X rotation of a platform or sensor attitude (the camera model composes
them), and an absolute gimbal attitude (DJI G.PRY, a CSV's gimbal columns) turned into the sensor angles
relative to the platform that ST 0601 and the camera model use."""
from __future__ import annotations

import math

import numpy as np


def zyx_rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """(3, 3) body-to-NED rotation, aerospace yaw-pitch-roll (Z-Y-X) order: Rz(yaw) Ry(pitch) Rx(roll)."""
    yaw, pitch, roll = np.radians([yaw_deg, pitch_deg, roll_deg])
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    rz = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
    ry = np.array([[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cr, -sr], [0.0, sr, cr]])
    return rz @ ry @ rx


def relative_sensor_angles(platform_hpr_deg, gimbal_ypr_deg) -> tuple[float, float, float]:
    """Sensor (azimuth, elevation, roll) relative to the platform for an absolute gimbal attitude.

    platform_hpr_deg: (heading, pitch, roll); gimbal_ypr_deg: (yaw, pitch, roll), both Z-Y-X.
    Solves R_platform @ R_relative = R_gimbal; azimuth and roll in [0, 360) as MISB writes them.
    """
    heading, pitch, roll = platform_hpr_deg
    relative = zyx_rotation(heading, pitch, roll).T @ zyx_rotation(*gimbal_ypr_deg)
    azimuth = _wrap_360(math.degrees(math.atan2(relative[1, 0], relative[0, 0])))
    elevation = math.degrees(math.asin(max(-1.0, min(1.0, -relative[2, 0]))))
    sensor_roll = _wrap_360(math.degrees(math.atan2(relative[2, 1], relative[2, 2])))
    return azimuth, elevation, sensor_roll


def _wrap_360(angle_deg: float) -> float:
    """Angle in [0, 360): a tiny negative rounding error must give 0, not 360."""
    wrapped = angle_deg % 360.0
    return 0.0 if wrapped >= 360.0 else wrapped
