"""Build the C extension against an installed libpricecache (pkg-config pricecache).

PKG_CONFIG_PATH / PKG_CONFIG_SYSROOT_DIR select a staged library, as the
test scenario does; without pkg-config, the default include and library
paths are tried.
"""
import os
import shlex
import subprocess

from setuptools import Extension, setup


def pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config", *args, "pricecache"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return shlex.split(out)


cflags = pkg_config("--cflags")
libs = pkg_config("--libs")
if libs is None:
    cflags, libs = [], ["-lpricecache"]

setup(
    ext_modules=[
        Extension(
            "pricecache._pricecache",
            sources=[f"src/pricecache/{f}.c" for f in
                     ("module", "reader", "basket", "subscription")],
            depends=["src/pricecache/_pricecache.h"],
            # -Werror only where the project's CI asks (PC_WERROR=1, the
            # test scenario): a new compiler's new warning must not break
            # a user's or a package's build.
            extra_compile_args=cflags + ["-std=c11", "-Wall", "-Wextra", "-fvisibility=hidden"]
            + (["-Werror"] if os.environ.get("PC_WERROR") == "1" else []),
            extra_link_args=libs,
        )
    ]
)
