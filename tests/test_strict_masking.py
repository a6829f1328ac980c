"""LEPTON_MASKING=strict also masks the person names the knowledge graph knows; default mode does not."""

from __future__ import annotations

import json
import shutil

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


def test_strict_names_follow_graph_reloads_and_any_case(redis_url, key_prefix, models_dir, tmp_path):
    from lepton_stream.kg.io import SEED_DIR, SEED_FILES
    from lepton_stream.models.serving import load_model

    for name in SEED_FILES:
        shutil.copy(SEED_DIR / name, tmp_path / name)
    model = load_model(models_dir / "chat", "torch")
    s = load_settings(masking="strict", kg_path=tmp_path, redis_url=redis_url, redis_key_prefix=key_prefix,
                      models_dir=models_dir, runtime="torch")  # fmt: skip
    worker = build_worker("chat", s, model=model)
    known = KnowledgeGraph.load(tmp_path).person_names()[0]
    assert worker.masker(f"it is {known.upper()} here, {known.lower()}") == "it is [PERSON] here, [PERSON]"
    assert worker.masker("Zelda   Quackenbush calling") == "Zelda   Quackenbush calling"

    node = {"kind": "node", "id": "cust-9999", "type": "customer", "name": "Zelda Quackenbush",
            "attrs": {"tier": "standard", "since": 2026}}  # fmt: skip
    with open(tmp_path / "customers.jsonl", "a") as f:
        f.write(json.dumps(node) + "\n")
    assert worker.back_half.names.maybe_reload()
    assert worker.masker("zelda   QUACKENBUSH calling") == "[PERSON] calling"
