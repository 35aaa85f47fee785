"""Reference VPSNet (Fuse + Track) implemented on PyTorch and torchvision.

It trains on and predicts into unified vpsbench HDF5 files, so baseline tables can be reproduced
with ``vpsbench eval``. It is an optional extra (``pip install -e ".[model]"``): the core toolkit
never imports it.
"""
