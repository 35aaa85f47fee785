"""Dataset definitions: the category tables, official category JSON and evaluation protocols of
the datasets vpsbench knows (Cityscapes-VPS, VIPER), kept as data in one place so converters,
the synthetic generator and the evaluator agree.
"""
