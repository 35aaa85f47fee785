"""Registry of video panoptic segmentation results and its rendered tables.

Entries are published numbers (with citations) or results reproduced with vpsbench (with the
exact command); submissions are scored with the vpsbench evaluator before they are added.
"""
