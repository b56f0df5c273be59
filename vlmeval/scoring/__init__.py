"""Scoring pipelines that several tasks share: they compose metric functions, tokenizers and models, and
build the signatures. ``captions``: COCOEvalCap's pipeline (captions, and free-form answers); ``model_metrics``:
BERTScore and CLIPScore with local models; ``answers``: what VQA and DocVQA share."""
