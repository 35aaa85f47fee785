"""Build hook for the optional compiled kernels (everything else is in setup.cfg).

``vpsbench._kernels`` (vpsbench/_kernels.c) is built when a C compiler and the Python headers
are present; where it cannot be, the install goes on and vpsbench does the same work with
NumPy (same results, slower; see vpsbench/kernels.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "vpsbench._kernels",
            ["vpsbench/_kernels.c"],
            optional=True,  # a failed build is a warning, not a failed install
        )
    ]
)
