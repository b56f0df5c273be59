"""vlmeval: score vision-language model outputs with official numbers.

The command line is ``vlmeval``; in Python, one function per task returns the same report::

    import vlmeval
    report = vlmeval.caption(predictions, references)           # BLEU, METEOR, ROUGE-L, CIDEr-D
    wandb.log(report.to_wandb(prefix="val/"), step=step)

Nothing heavy is imported here: each task loads what it needs when it runs.
"""

__version__ = "0.1.0"

_API = ("caption", "vqa", "docvqa", "grounding", "retrieval", "mcq", "yesno", "evaluate", "CaptionEvaluator",
        "compare_runs", "blind_gain")
__all__ = [*_API, "Report", "VlmevalError", "__version__"]


def __getattr__(name: str):
    """The API, imported on first use (``import vlmeval`` stays as light as ``vlmeval --help``)."""
    if name in _API:
        from vlmeval import api

        return getattr(api, name)
    if name == "Report":
        from vlmeval.report.report import Report

        return Report
    if name == "VlmevalError":
        from vlmeval.errors import VlmevalError

        return VlmevalError
    raise AttributeError(f"module 'vlmeval' has no attribute {name!r}")
