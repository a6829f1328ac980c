"""Knowledge-graph tooling: `kg eval` (linking precision and recall), `kg bench` and its synthetic graph (the
graph the workers use lives in lepton_stream/kg/)."""
