"""The life of a micro-batch: decode → mask → cache → infer → enrich → state → detect → produce → commit."""
