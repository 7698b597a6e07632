"""`python -m qgis_siammask probe FILE` on the real samples."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from qgis_siammask.core.cli import main

TS = "data/fmv/ts/cheyenne_klv_synthetic_video.ts"


def test_probe_ts_lists_streams_coverage_and_first_record(shared_dir, capsys):
    assert main(["probe", str(shared_dir / TS)]) == 0
    out = capsys.readouterr().out
    assert "stream #0 video h264 640x360 @ 30.000 fps" in out
    assert "stream #1 data codec=klv (KLV)" in out
    assert "packets: 96, valid: 96, bad checksum: 0" in out
    assert "13 sensor_latitude (96)" in out
    assert "timestamp_us: 1348087244105300 (2012-09-19T20:40:44.105300+00:00)" in out
    assert "sensor_latitude_deg: 41.1438456" in out


def test_probe_reports_bad_checksum_and_errors(shared_dir, tmp_path, capsys):
    assert main(["probe", str(shared_dir / "data/fmv/klv/DynamicConstantMISMMSPacketData.bin")]) == 1
    assert "1 with a bad checksum" in capsys.readouterr().out
    assert main(["probe", str(tmp_path / "missing.ts")]) == 2
    assert "missing.ts" in capsys.readouterr().err


def test_probe_as_a_command(shared_dir):
    result = subprocess.run([sys.executable, "-m", "qgis_siammask", "probe",
                             str(shared_dir / "data/fmv/srt/juanirache_p4_rtk.SRT")],
                            capture_output=True, text=True, timeout=60, check=False,
                            cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr
    assert "telemetry: srt" in result.stdout and "sensor_latitude_deg: -34.237922" in result.stdout
