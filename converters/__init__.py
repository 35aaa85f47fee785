"""Converters between the official dataset releases and the unified vpsbench HDF5 format.

Each supported dataset (Cityscapes-VPS, VIPER, ...) gets one module here that reads the release
as users have it on disk, writes a unified file with ``vpsbench.format.VPSWriter``, and exports
unified files back to the official layout so that other tools keep working.
"""
