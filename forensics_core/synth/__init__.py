"""The forgery factory: synthetic manipulations of pristine photographs for training detectors.

Modules, one job each:

- :mod:`~forensics_core.synth.data`: where the photographs are, the fixed train/validation split,
  cached decoding;
- :mod:`~forensics_core.synth.shapes`: random region masks (annotated objects, polygons, blobs);
- :mod:`~forensics_core.synth.transforms`: geometric and signal operations on uint8 RGB images;
- :mod:`~forensics_core.synth.manipulations`: splicing, copy-move, removal, local enhancement, each
  with its exact ground-truth mask and a record of its random parameters;
- :mod:`~forensics_core.synth.postprocessing`: the global operations applied to the whole picture
  afterwards (JPEG, resizing, noise);
- :mod:`~forensics_core.synth.resampling_patches`: patch samples for binary resampling classifiers;
- :mod:`~forensics_core.synth.datasets`: deterministic torch datasets built from the above;
- :mod:`~forensics_core.synth.gallery`: a browsable HTML gallery of samples for checking by eye.
- :mod:`~forensics_core.synth.camera`: camera-like pictures (Bayer mosaic, sensor noise, OpenCV
  demosaicing) and splices that differ from their host only in these camera traces.

Nothing here imports Qt.
"""
