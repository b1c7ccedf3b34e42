#!/usr/bin/env python3
"""Environment build benchmarks: conda (py-rattler) cold and warm, hardlink savings,
and Hubstead's PyPI builds side by side with plain uv.

    .venv/bin/python benchmarks/envs.py [--packages 100] [--output FILE]

Conda: conda-forge cannot be reached here, so the script builds a local channel of
PACKAGES real noarch packages (tests/harness/conda_channel.py; each with a few files,
one chain of dependencies so the solver works) plus `python` from Debian's CPython
when /usr/bin/python3.11 exists. It then times, with hubstead.envs.conda:
- solve + lock + install of all of them into a new prefix with an EMPTY package cache (cold);
- the same into a second prefix with the cache now full (warm);
- the disk both prefixes and the cache take, counting a hardlinked file once, against
  what they would take as copies.
PyPI: the default user environment's requirements (JupyterLab, jupyterhub,
ipykernel, nbgitpuller: ~100 packages), built the way Hubstead builds them (uv
compile with hashes, uv venv, uv pip install --require-hashes --compile-bytecode)
and the plain way (`uv venv` + `uv pip install -r requirements.in`), each from a cold
and a warm uv cache, in the same run.
Prints the numbers and writes them to JSON (default benchmarks/results/envs.json).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "installer")]

from hubstead.envs import condaspec, conda, inspect, pypi  # noqa: E402
from tests.harness.conda_channel import Package, PythonFromSystem, build_channel  # noqa: E402

DEFAULT_REQUIREMENTS = REPO / "installer/hubstead/envs/default/requirements.in"


def synthetic_packages(count):
    """COUNT packages of ~200 KiB each in 8 files; bench-000 depends on all the others."""
    packages = []
    for number in range(1, count):
        files = {f"share/bench/{number:03d}/file{part}.dat": os.urandom(25 * 1024) for part in range(8)}
        packages.append(Package(f"bench-{number:03d}", "1.0", files=files))
    packages.append(Package("bench-000", "1.0", depends=tuple(p.name for p in packages),
                            files={"share/bench/000/README": "the top of the benchmark set\n"}))
    return packages


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def conda_benchmark(work, count):
    work.mkdir(parents=True)
    channel_dir = work / "channel"
    packages = synthetic_packages(count)
    python = PythonFromSystem()
    with_python = python.available() is None
    built = build_channel(channel_dir, packages + ([python] if with_python else []))
    spec_text = "dependencies:\n  - bench-000\n" + ("  - python\n" if with_python else "")
    spec = condaspec.parse_environment_yml(f"channels: [{built.url}]\n" + spec_text, source="bench.yml")
    cache = work / "pkgs"

    def build(prefix):
        records = conda.solve(spec, virtual_packages=[], cache_dir=work / "repodata")
        conda.write_lock(records, spec, prefix.with_suffix(".lock.yml"))
        conda.install(records, prefix, cache_dir=cache)
        return records

    cold, records = timed(build, work / "env-a")
    warm, _ = timed(build, work / "env-b")
    apparent = sum(item.stat().st_size for prefix in ("env-a", "env-b")
                   for item in (work / prefix).rglob("*") if item.is_file() and not item.is_symlink())
    on_disk = {name: inspect.disk_usage(work / name) for name in ("env-a", "env-b", "pkgs")}
    together = inspect.disk_usage_many([work / "env-a", work / "env-b", cache])
    return {
        "packages": len(records), "python_included": with_python, "channel_build_s": round(built.seconds, 2),
        "cold_s": round(cold, 2), "warm_s": round(warm, 2),
        "env_a_mib": round(on_disk["env-a"] / 2**20, 1), "env_b_mib": round(on_disk["env-b"] / 2**20, 1),
        "two_envs_plus_cache_mib": round(together / 2**20, 1),
        "two_envs_as_copies_mib": round(apparent / 2**20, 1),
        "second_env_added_mib": round((together - inspect.disk_usage_many([work / "env-a", cache])) / 2**20, 1),
    }


def uv(*args, cache, check=True):
    env = {**pypi.uv_environment(), "UV_CACHE_DIR": str(cache)}
    return subprocess.run([pypi.uv_binary(), *args], env=env, check=check, capture_output=True, text=True)


def hubstead_pypi(work, cache, python):
    lock = work / "requirements.lock.txt"
    os.environ["UV_CACHE_DIR"] = str(cache)
    try:
        pypi.compile_lock(DEFAULT_REQUIREMENTS, lock, python=python)
    finally:
        os.environ.pop("UV_CACHE_DIR")
    prefix = work / f"hub-{cache.name}"
    uv("venv", "--quiet", "--python", python, str(prefix), cache=cache)
    uv("pip", "install", "--quiet", "--python", str(prefix / "bin/python"), "--require-hashes",
       "--compile-bytecode", "-r", str(lock), cache=cache)


def plain_uv(work, cache, python):
    prefix = work / f"plain-{cache.name}"
    uv("venv", "--quiet", "--python", python, str(prefix), cache=cache)
    uv("pip", "install", "--quiet", "--python", str(prefix / "bin/python"), "-r", str(DEFAULT_REQUIREMENTS),
       cache=cache)


def pypi_benchmark(work, python):
    work.mkdir(parents=True)
    results = {}
    for label, builder in (("hubstead", hubstead_pypi), ("plain_uv", plain_uv)):
        cache = work / f"uv-cache-{label}"
        cold, _ = timed(builder, work, cache, python)
        shutil.rmtree(next(work.glob(f"*-{cache.name}")))
        warm, _ = timed(builder, work, cache, python)
        results[label] = {"cold_s": round(cold, 2), "warm_s": round(warm, 2)}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=100)
    parser.add_argument("--python", default="/usr/bin/python3", help="the Python PyPI environments run on")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "envs.json")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hubstead-bench-envs-") as scratch:
        work = Path(scratch)
        results = {"conda": conda_benchmark(work / "conda", options.packages),
                   "pypi_default_env": pypi_benchmark(work / "pypi", options.python)}
    results["machine"] = {"cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2)}
    c = results["conda"]
    print(f"conda, {c['packages']} packages (python included: {c['python_included']}): "
          f"cold {c['cold_s']} s, warm {c['warm_s']} s")
    print(f"disk: two envs + cache {c['two_envs_plus_cache_mib']} MiB (as copies: {c['two_envs_as_copies_mib']} MiB);"
          f" the second env added {c['second_env_added_mib']} MiB")
    for label, numbers in results["pypi_default_env"].items():
        print(f"PyPI default env, {label}: cold {numbers['cold_s']} s, warm {numbers['warm_s']} s")
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {options.output}")


if __name__ == "__main__":
    main()
    conda.leave_process(0)  # py-rattler's threads can crash Python's shutdown after success
