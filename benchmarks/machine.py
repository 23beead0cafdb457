"""What machine a result came from: numbers mean nothing without it."""

import os
import platform
import shutil
import subprocess
from importlib import metadata
from typing import Any


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _terraform_version() -> str | None:
    binary = shutil.which("terraform")
    if binary is None:
        return None
    done = subprocess.run([binary, "version"], capture_output=True, text=True, check=False)  # noqa: S603
    return done.stdout.splitlines()[0] if done.returncode == 0 and done.stdout else None


def describe() -> dict[str, Any]:
    """CPU, cores, memory, OS, Python and the versions of the libraries that shape the numbers."""
    versions = {}
    for name in ("boto3", "botocore", "moto", "aws-xray-sdk", "jsonschema", "aws-lambda-powertools"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "terraform": _terraform_version(),
        "libraries": versions,
    }


def one_line(machine: dict[str, Any]) -> str:
    """A short description for tables and charts."""
    measured = machine.get("measured_python")
    python = f"Lambda code on Python {measured}" if measured else f"Python {machine['python']}"
    return (
        f"{machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB, "
        f"{python}, moto {machine['libraries'].get('moto')}"
    )
