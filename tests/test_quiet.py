"""The libraries' start-up chatter stays off the terminal by default (cli_common/quiet.py); real output still shows."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli_common.quiet import NOISE_LINES, native_output_filtered

ROOT = Path(__file__).resolve().parent.parent

TENSORFLOW_NOISE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796047241.084977   12250 port.cc:153] oneDNN custom operations are on. You may see slightly "
    "different numerical results\n"
    "I0000 00:00:1796047241.085297   12250 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.\n"
    "W0000 00:00:1796047429.212283   19038 tf_tfl_flatbuffer_helpers.cc:364] Ignored output_format.\n"
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
)


def test_known_noise_is_dropped_and_anything_else_written_back(capfd):
    with native_output_filtered():
        os.write(2, TENSORFLOW_NOISE.encode())
        os.write(2, b"E0000 00:00:1796047250.640059   12250 something.cc:52] a real C++ error\n")
        os.write(1, b"a line on stdout\n")
        print("Python's own stderr line", file=sys.stderr)
    out, err = capfd.readouterr()
    assert out == "a line on stdout\n"
    assert err.splitlines() == ["E0000 00:00:1796047250.640059   12250 something.cc:52] a real C++ error",
                                "Python's own stderr line"]


def test_everything_is_written_back_when_the_block_fails(capfd):
    with pytest.raises(RuntimeError), native_output_filtered(drop_stdout=True):
        os.write(2, TENSORFLOW_NOISE.encode())
        os.write(1, b"converter context\n")
        raise RuntimeError("conversion failed")
    out, err = capfd.readouterr()
    assert out == "converter context\n" and err == TENSORFLOW_NOISE


def test_verbose_keeps_the_noise(capfd):
    with native_output_filtered(verbose=True):
        os.write(2, TENSORFLOW_NOISE.encode())
    assert capfd.readouterr().err == TENSORFLOW_NOISE


def _stderr_of(code: str, **environment) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "OPENCV_LOG_LEVEL")}
    env.update(PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]), **environment)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stderr


def _noisy(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if NOISE_LINES.fullmatch(line) or "cuInit" in line or "[ WARN:" in line
            or "[ERROR:" in line]


@pytest.mark.slow
def test_importing_tensorflow_after_quiet_libraries_prints_nothing():
    code = "from cli_common.quiet import quiet_libraries; quiet_libraries({verbose}); import keras, tensorflow as tf; tf.zeros(1) + 1"
    loud = _stderr_of(code.format(verbose=True))
    if not _noisy(loud):
        pytest.skip("this TensorFlow prints nothing at start-up anyway")
    assert _stderr_of(code.format(verbose=False)) == ""


def test_opencv_says_nothing_about_a_missing_camera_after_quiet_libraries():
    code = ("from cli_common.quiet import quiet_libraries; import cv2; quiet_libraries({verbose}); "
            "cv2.VideoCapture(97)")
    loud = _stderr_of(code.format(verbose=True))
    if not _noisy(loud):
        pytest.skip("OpenCV logs nothing for a missing camera here")
    assert _stderr_of(code.format(verbose=False)) == ""


def test_a_users_own_log_levels_are_kept(monkeypatch):
    from cli_common import quiet

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    monkeypatch.setenv("OPENCV_LOG_LEVEL", "INFO")
    quiet.quiet_libraries(False)
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0" and os.environ["OPENCV_LOG_LEVEL"] == "INFO"


@pytest.mark.parametrize("command", ["train", "evaluate", "export", "explain", "robustness"])
def test_every_gesture_train_command_takes_verbose(command):
    from training.cli import build_parser

    assert "--verbose" in build_parser()._subparsers._group_actions[0].choices[command].format_help()


@pytest.mark.slow
def test_int8_export_prints_no_converter_signature(tiny_bundle, hand_crops, tmp_path, capfd, monkeypatch):
    import shutil

    from training import cli, progress

    monkeypatch.setattr(progress, "LINE_EVERY_S", 0.0)

    bundle = shutil.copytree(tiny_bundle, tmp_path / "bundle")
    assert cli.main(["export", "--model", str(bundle), "--int8", "--data", str(hand_crops), "--calibration-images", "5"]) == 0
    out, err = capfd.readouterr()
    assert "TensorSpec" not in out + err and "Saved artifact" not in out + err
    assert "fully_quantize" not in err and "XNNPACK" not in err and "Statistics for quantized inputs" not in err
    # Calibration progress still reaches the terminal while the converter's output is held back.
    assert "calibrating int8: 1/5 images (20 %)" in err and " left" in err
