"""Training-side model tooling: the quick and full recipes, ONNX export, `evaluate`, the bare-model bench and
`models feedback` (the bundles they write are served by lepton_stream/models/)."""
