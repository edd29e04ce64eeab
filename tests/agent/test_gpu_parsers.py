"""The GPU tool parsers on recorded output (tests/agent/samples/, sources in its README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.gpu import amd, ascend, nvidia_smi
from agent.gpu.common import ToolOutputError

SAMPLES = Path(__file__).parent / "samples"
MIB = 1024**2


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


def test_nvidia_smi_single_gpu() -> None:
    gpus, versions = nvidia_smi.parse(sample("nvidia-smi-h100.csv"))
    assert gpus == [
        {
            "index": 0,
            "name": "NVIDIA H100 80GB HBM3",
            "vendor": "nvidia",
            "uuid": "GPU-71ee370c-becc-13dd-d129-5c6d51acb7a5",
            "memory_total": 81559 * MIB,
            "memory_used": 0,
            "utilization": 0,
            "temperature": 41,
            "simulated": False,
        }
    ]
    assert versions == {"driver": "580.159.04"}


def test_nvidia_smi_eight_gpus() -> None:
    gpus, versions = nvidia_smi.parse(sample("nvidia-smi-8x-a100.csv"))
    assert [g["index"] for g in gpus] == list(range(8))
    assert len({g["uuid"] for g in gpus}) == 8
    assert gpus[0]["memory_used"] == 72155 * MIB and gpus[0]["utilization"] == 97
    assert gpus[7]["temperature"] == 36
    assert versions == {"driver": "550.127.05"}


def test_nvidia_smi_unsupported_fields_are_null() -> None:
    (gpu,), _ = nvidia_smi.parse(sample("nvidia-smi-t4-not-supported.csv"))
    assert (gpu["name"], gpu["utilization"], gpu["temperature"]) == ("Tesla T4", None, None)
    assert gpu["memory_total"] == 15360 * MIB


def test_nvidia_smi_no_devices() -> None:
    assert nvidia_smi.parse(sample("nvidia-smi-no-devices.txt")) == ([], {})
    assert nvidia_smi.parse("") == ([], {})


@pytest.mark.parametrize(
    "text", [sample("nvidia-smi-no-driver.txt"), "0, GPU-x, A100\n", "x, a, b, 1, 2, 3, 4, 5\n"]
)
def test_nvidia_smi_malformed_output_is_a_clear_error(text: str) -> None:
    with pytest.raises(ToolOutputError) as caught:
        nvidia_smi.parse(text)
    assert str(caught.value).startswith("nvidia-smi: line 1 is not 8 CSV fields")


def test_rocm_smi_single_gpu_in_bytes() -> None:
    (gpu,), versions = amd.parse_rocm_smi(sample("rocm-smi-rx7800xt.json"))
    assert gpu == {
        "index": 0,
        "name": "Navi 32 [Radeon RX 7700 XT / 7800 XT]",
        "vendor": "amd",
        "uuid": "0x5c88007d760374f3",
        "memory_total": 17163091968,
        "memory_used": 11615076352,
        "utilization": 100,
        "temperature": 45,
        "simulated": False,
    }
    assert versions == {}


def test_rocm_smi_hygon_dcu_in_mib() -> None:
    (gpu,), _ = amd.parse_rocm_smi(sample("rocm-smi-hygon-dcu.json"))
    assert (gpu["name"], gpu["utilization"], gpu["temperature"]) == ("DCU xxxx", 0, 41)
    assert (gpu["memory_total"], gpu["memory_used"]) == (65520 * MIB, 2 * MIB)


def test_rocm_smi_two_gpus_and_driver_version() -> None:
    gpus, versions = amd.parse_rocm_smi(
        sample("rocm-smi-2x-mi210.json"), sample("rocm-smi-driver.json")
    )
    assert [(g["index"], g["utilization"], g["temperature"]) for g in gpus] == [
        (0, 0, 39),
        (1, 98, 71),
    ]
    assert gpus[1]["memory_used"] == 60129542144
    assert versions == {"driver": "6.8.5"}


def test_amd_smi_rocm7_gpu_data_two_gpus() -> None:
    gpus, versions = amd.parse_amd_smi(
        sample("amd-smi-static-2x-r9700.json"), sample("amd-smi-metric-2x-r9700.json")
    )
    assert [g["uuid"] for g in gpus] == ["0x122F60A0A7D06C96", "0x3919877325193652"]
    assert all(g["name"] == "AMD Radeon AI PRO R9700" and g["vendor"] == "amd" for g in gpus)
    assert [g["memory_total"] for g in gpus] == [32624 * MIB] * 2
    assert [g["memory_used"] for g in gpus] == [29777 * MIB] * 2
    assert [(g["utilization"], g["temperature"]) for g in gpus] == [(100, 79), (100, 80)]
    assert versions == {"driver": "6.16.6"}


def test_amd_smi_rocm6_list_with_edge_temperature_missing() -> None:
    (gpu,), versions = amd.parse_amd_smi(
        sample("amd-smi-static-mi300x-rocm6.json"), sample("amd-smi-metric-mi300x-rocm6.json")
    )
    assert (gpu["name"], gpu["memory_total"], gpu["memory_used"]) == (
        "AMD Instinct MI300X",
        196592 * MIB,
        283 * MIB,
    )
    assert (gpu["utilization"], gpu["temperature"]) == (0, 42)  # hotspot, edge is N/A
    assert versions == {"driver": "6.7.0"}


def test_amd_smi_static_only_gives_size_but_no_readings() -> None:
    (gpu,), _ = amd.parse_amd_smi(sample("amd-smi-static-mi300x-rocm6.json"), None)
    assert gpu["memory_total"] == 196592 * MIB
    assert (gpu["memory_used"], gpu["utilization"], gpu["temperature"]) == (0, None, None)


def test_amd_no_gpus() -> None:
    assert amd.parse_amd_smi("[]", "[]") == ([], {})
    assert amd.parse_amd_smi('{"gpu_data": []}', None) == ([], {})
    assert amd.parse_rocm_smi("{}") == ([], {})
    assert amd.parse_rocm_smi("WARNING: No AMD GPUs specified\n") == ([], {})


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (lambda t: amd.parse_amd_smi(t, None), sample("amd-smi-broken.txt"), "amd-smi: not JSON"),
        (lambda t: amd.parse_amd_smi(t, None), '{"gpus": 1}', "amd-smi: want a JSON list"),
        (lambda t: amd.parse_amd_smi(t, None), '[{"asic": {}}]', "without an integer 'gpu'"),
        (amd.parse_rocm_smi, "[1, 2]", "rocm-smi: want a JSON object of cards"),
        (amd.parse_rocm_smi, "{card0: broken", "rocm-smi: not JSON"),
    ],
)
def test_amd_malformed_output_is_a_clear_error(parse, text: str, message: str) -> None:
    with pytest.raises(ToolOutputError) as caught:
        parse(text)
    assert message in str(caught.value)


def test_rocm_version_file() -> None:
    assert amd.rocm_version(sample("rocm-info-version.txt")) == "6.2.4"
    assert amd.rocm_version("") is None and amd.rocm_version(None) is None


def test_npu_smi_eight_910_with_hbm() -> None:
    gpus, versions = ascend.parse(sample("npu-smi-atlas800-9010-8x910.txt"))
    assert [g["index"] for g in gpus] == list(range(8))
    first = gpus[0]
    assert first == {
        "index": 0,
        "name": "Ascend xxx",
        "vendor": "ascend",
        "uuid": None,
        "memory_total": 32768 * MIB,  # HBM, not the control CPU's DDR (15137 MB)
        "memory_used": 0,
        "utilization": 0,
        "temperature": 42,
        "simulated": False,
    }
    assert gpus[3]["temperature"] == 39
    assert versions == {"driver": "24.1.RC2"}


def test_npu_smi_310_card_with_four_chips_uses_the_device_column() -> None:
    gpus, versions = ascend.parse(sample("npu-smi-atlas800-3000-310.txt"))
    assert [g["index"] for g in gpus] == [3, 4, 5, 6]
    assert [g["temperature"] for g in gpus] == [73, 74, 70, 65]
    assert gpus[0]["memory_total"] == 8192 * MIB and gpus[0]["memory_used"] == 2703 * MIB
    assert gpus[0]["name"] == "Ascend 310"
    assert versions == {"driver": "21.0.4.B030"}


def test_npu_smi_single_910b3() -> None:
    (gpu,), versions = ascend.parse(sample("npu-smi-910b3-single.txt"))
    assert (gpu["name"], gpu["utilization"], gpu["temperature"]) == ("Ascend 910B3", 12, 41)
    assert (gpu["memory_total"], gpu["memory_used"]) == (65536 * MIB, 35127 * MIB)
    assert versions == {"driver": "24.1.rc2"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (sample("npu-smi-device-busy.txt"), "no 'npu-smi ... Version:' header"),
        (
            sample("npu-smi-910b3-single.txt").replace("0000:C1:00.0", "not-a-bus-id"),
            "is not a PCI bus id",
        ),
        (
            "\n".join(sample("npu-smi-910b3-single.txt").splitlines()[:7]),
            "has no second row",
        ),
    ],
)
def test_npu_smi_malformed_output_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(ToolOutputError) as caught:
        ascend.parse(text)
    assert str(caught.value).startswith("npu-smi: ") and message in str(caught.value)


def test_cann_version_file() -> None:
    assert ascend.cann_version(sample("ascend-toolkit-install.info")) == "8.0.RC2"
    assert ascend.cann_version("package_name=x\n") is None
