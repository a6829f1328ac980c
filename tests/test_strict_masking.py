"""LEPTON_MASKING=strict also masks the person names the knowledge graph knows; default mode does not."""

from __future__ import annotations

from lepton_stream.config import load_settings
from lepton_stream.kg import KnowledgeGraph
from lepton_stream.runtime import build_worker


def test_strict_mode_masks_known_person_names(redis_url, key_prefix, models_dir):
    from lepton_stream.models.serving import load_model

    name = KnowledgeGraph.load().person_names()[0]
    text = f"Hi, this is {name}, my card was stolen, call me on +44 7700 900123"
    model = load_model(models_dir / "chat", "torch")
    common = dict(redis_url=redis_url, redis_key_prefix=key_prefix, models_dir=models_dir, runtime="torch")
    strict = build_worker("chat", load_settings(masking="strict", **common), model=model)
    default = build_worker("chat", load_settings(**common), model=model)
    assert strict.masker(text) == "Hi, this is [PERSON], my card was stolen, call me on [PHONE]"
    assert default.masker(text) == f"Hi, this is {name}, my card was stolen, call me on [PHONE]"
