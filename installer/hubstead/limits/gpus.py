"""GPUs for a group's servers: which NVIDIA device nodes a request allows.

A request is "all", a count (the first N GPUs) or a list of GPU numbers ("0,2").
Servers with GPUs keep their own /tmp and the rest of their hardening, but see the
machine's /dev with only the standard pseudo devices, terminals and the allowed GPUs
open to them (systemd DevicePolicy=closed + DeviceAllow=); everyone else keeps
PrivateDevices= (SystemdSpawner's isolate_devices).
"""

import re
from pathlib import Path

from ..errors import HubsteadError

DEV = Path("/dev")
GPU_NODE = re.compile(r"^nvidia([0-9]+)$")
# Nodes every CUDA program opens besides its GPUs' own.
CONTROL_NODES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")
# A terminal and Jupyter's kernels need these beyond DevicePolicy=closed's pseudo devices.
TERMINAL_DEVICES = ("char-pts rw", "/dev/ptmx rw", "/dev/tty rw")
LIST = re.compile(r"^[0-9]+(,[0-9]+)*$")


class GPUError(HubsteadError):
    """A GPU request that is malformed or that this machine cannot meet."""


def parse_gpus(value):
    """"all", a count (int) or a list of GPU numbers, from the config's value."""
    if isinstance(value, bool):
        raise GPUError(f"gpus: {value!r} is not a GPU request; use all, a count (2) or GPU numbers (0,2)")
    if isinstance(value, int) and value >= 0:
        return value
    text = str(value).strip().lower()
    if text == "all":
        return "all"
    if LIST.match(text):
        return [int(item) for item in text.split(",")] if "," in text else int(text)
    raise GPUError(f"gpus: {value!r} is not a GPU request; use all, a count (2) or GPU numbers (0,2)")


def gpu_numbers(dev=DEV):
    """The numbers of the machine's NVIDIA GPUs (/dev/nvidia0, /dev/nvidia1, ...)."""
    found = (GPU_NODE.match(path.name) for path in Path(dev).glob("nvidia*"))
    return sorted(int(match.group(1)) for match in found if match)


def gpu_problem(value, dev=DEV):
    """Why a GPU request cannot be met on this machine, or None."""
    wanted = parse_gpus(value)
    present = gpu_numbers(dev)
    if wanted == 0:
        return None
    if not present:
        return (f"gpus: this machine has no NVIDIA GPU ({Path(dev) / 'nvidia0'} does not exist); "
                "install the NVIDIA driver first, or leave gpus unset")
    if isinstance(wanted, list) and set(wanted) - set(present):
        missing = ", ".join(str(number) for number in sorted(set(wanted) - set(present)))
        return f"gpus: this machine has no GPU {missing} (it has {', '.join(map(str, present))})"
    if isinstance(wanted, int) and wanted > len(present):
        return f"gpus: this machine has {len(present)} GPU(s), not {wanted}"
    return None


def device_allow(value, dev=DEV):
    """DeviceAllow= entries for a GPU request, or [] when it allows no GPU here."""
    wanted, present = parse_gpus(value), gpu_numbers(dev)
    if wanted == "all":
        chosen = present
    elif isinstance(wanted, int):
        chosen = present[:wanted]
    else:
        chosen = [number for number in wanted if number in present]
    if not chosen:
        return []
    nodes = [f"nvidia{number}" for number in chosen]
    nodes += [name for name in CONTROL_NODES if (Path(dev) / name).exists()]
    return [f"{Path(dev) / name} rw" for name in nodes] + list(TERMINAL_DEVICES)
