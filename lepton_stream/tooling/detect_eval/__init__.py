"""Detector evaluation: the labelled synthetic corpus, NAB scoring and NAB-layout folders, `detect-eval` (the
detectors themselves live in lepton_stream/detect/)."""
