"""Text classifiers: bundles on disk, runtimes that serve them in batches, and the recipes that train them."""
