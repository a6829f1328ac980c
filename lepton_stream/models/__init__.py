"""Text classifiers: bundles on disk and the runtimes that serve them in batches (training lives in
lepton_stream/tooling/training/)."""
