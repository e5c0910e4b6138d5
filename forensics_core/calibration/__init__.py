"""Calibration of detector results against authentic photographs (issue 20).

A detector's image score only becomes evidence once it is compared with the scores the same
detector gives to authentic pictures. This package defines the image score shared by detectors
whose paper defines none (:mod:`.image_score`), the calibration file and its checks
(:mod:`.calibration_file`), how a calibration is applied to a result (:mod:`.apply`), the verdict
in words (:mod:`.verdict`), the authentic reference set (:mod:`.reference_set`) and the command
that computes a calibration (:mod:`.calibrate`).
"""
