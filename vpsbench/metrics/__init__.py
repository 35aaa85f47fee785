"""Video panoptic metrics (VPQ, PQ, STQ, temporal consistency) on per-frame pair histograms."""
