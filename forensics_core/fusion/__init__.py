"""Fusion of detector heatmaps into one map (the ``fusion`` detector's method).

Modules, one job each:

- :mod:`~forensics_core.fusion.features`: per-pixel features of each member's heatmap (the map, its
  local mean, its rank within the image) in a fixed layout;
- :mod:`~forensics_core.fusion.model`: the logistic-regression model over these features (PyTorch);
- :mod:`~forensics_core.fusion.layout`: the member layout recorded with the model's weights in the
  manifest, which ties it to the member detectors' weights and versions;
- :mod:`~forensics_core.fusion.training_data`: the synthetic forgeries of the training photographs
  and the member detectors' results on them (through a :class:`~forensics_core.result_cache.ResultStore`),
  sampled into balanced pixel rows.

Nothing here imports Qt.
"""
