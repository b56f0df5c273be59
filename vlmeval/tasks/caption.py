"""Image captioning: BLEU-1..4, METEOR, ROUGE-L, CIDEr-D (pycocoevalcap 1.2 numbers), and on request SPICE,
BERTScore, CLIPScore/RefCLIPScore, ROUGE-1/2.

Pipeline, as COCOEvalCap runs it: PTB-tokenize predictions and references, then score the tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vlmeval.errors import MissingDependency
from vlmeval.io.captions import CaptionData
from vlmeval.metrics.registry import resolve, scale_of
from vlmeval.progress import QUIET, Progress
from vlmeval.report.failures import worst_samples
from vlmeval.report.report import Report, environment, package_version
from vlmeval.report.signature import nrefs, signature
from vlmeval.tokenizers import DEFAULT_TOKENIZER, get_tokenizer, tokenizer_tag

TASK = "caption"
PARITY = "pycocoevalcap-1.2"
SMALL_CORPUS = 100
CHUNK_IMAGES = 10_000  # images per chunk: bounds memory whatever the corpus size
NGRAM_METRICS = {"Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "CIDEr"}
NEURAL_KEYS = {"BERTScore_P", "BERTScore_R", "BERTScore_F1", "CLIPScore", "RefCLIPScore"}


_NOT_SINGLE_SPACED = re.compile(r"[^\S ]|  |^ | $")


def _not_single_spaced(texts: list[str]) -> list[int]:
    """Indices of strings whose tokens are not separated by single spaces alone (other whitespace, padding)."""
    joined = "\n".join(texts)
    if not re.search(r"[^\S \n]|  |^ | $", joined, re.MULTILINE):
        return []
    return [i for i, t in enumerate(texts) if _NOT_SINGLE_SPACED.search(t)]


def caption_metrics(names: str | list[str] | None) -> list[str]:
    return resolve(names, TASK)


@dataclass
class TextScores:
    """What the caption metrics produce for a list of predictions: corpus numbers, per-sample scores,
    signatures, the tokenized predictions, and what went into the report's environment and stats."""

    metrics: dict[str, float]
    per_sample: dict[str, list[float]]
    signature: dict[str, str]
    warnings: list[str]
    stats: dict[str, Any]
    tokens: list[str]
    java: str | None = None
    estimators: dict[str, Any] = field(default_factory=dict)  # bootstrap estimators beyond per-sample stats
    environment: dict[str, str] = field(default_factory=dict)  # versions of what ran (torch, transformers)
    skipped: dict[str, int] = field(default_factory=dict)  # samples a metric could not score (no image)
    counts: dict[str, int] = field(default_factory=dict)


def score_captions(
    predictions: list[str],
    references: list[list[str]],
    metric_keys: list[str],
    *,
    tokenizer: str = DEFAULT_TOKENIZER,
    progress: Progress = QUIET,
    chunk_images: int = CHUNK_IMAGES,
    unit: str = "images",
    neural: Any = None,
    images: list[str | None] | None = None,
) -> TextScores:
    """BLEU, METEOR, ROUGE-L, CIDEr-D, SPICE as COCOEvalCap computes them: PTB-tokenize predictions and
    references, then score the tokens. Used by the caption task and for free-form VQA/DocVQA answers.
    BERTScore and CLIPScore/RefCLIPScore (``neural`` options, ``images`` paths) run on the raw text."""
    warnings: list[str] = []
    wanted = [k for k in metric_keys if k not in NEURAL_KEYS]
    neural_keys = [k for k in metric_keys if k in NEURAL_KEYS]
    java_version = None
    meteor_jar = None
    if "METEOR" in wanted:
        from vlmeval.java import INSTALL_JAVA, find_java
        from vlmeval.java import java_version as _java_version

        if find_java() is None:
            warnings.append(f"METEOR skipped: it needs Java, which was not found on PATH; {INSTALL_JAVA}")
            wanted.remove("METEOR")
        else:
            from vlmeval.metrics.meteor_jar import MeteorJar

            java_version = _java_version()
            meteor_jar = MeteorJar()  # loads its paraphrase table while we tokenize and count n-grams
    metrics: dict[str, float] = {}
    per_sample: dict[str, list[float]] = {}
    sigs: dict[str, str] = {}
    stats: dict[str, Any] = {}
    try:
        num = len(predictions)
        tok_tag = tokenizer_tag(tokenizer)
        keep_refs = bool({"METEOR", "SPICE"} & set(wanted))
        with progress.step(f"Tokenizing and scoring {num} {unit} ({tokenizer})", total=num) as advance:
            scored = _score_in_chunks(
                predictions, references, wanted, tokenizer, keep_refs, advance, chunk_images
            )
        hyps, refs = scored.hyps, scored.refs
        tok_stats = scored.tokenizer_stats
        if tok_stats is not None and (tok_stats.jar or tok_stats.approximate):
            shown = ", ".join(repr(x[:40]) for x in tok_stats.examples)
            if tok_stats.jar:
                tok_tag += f"+jar:{tok_stats.jar}"
                warnings.append(
                    f"{tok_stats.jar} captions have characters whose Unicode class Java's tables may not share "
                    f"with Python's; their documents were tokenized by the official jar ({shown})"
                )
            else:
                tok_tag += f"~approx:{tok_stats.approximate}"
                warnings.append(
                    f"{tok_stats.approximate} captions have characters whose Unicode class Java's tables may "
                    f"not share with Python's, and Java is not installed to tokenize them officially; their "
                    f"tokens may differ from pycocoevalcap's ({shown})"
                )
        if tokenizer == "ptb-jar" and java_version is None:
            from vlmeval.java import java_version as _java_version

            java_version = _java_version()

        common = {"nrefs": nrefs([len(rs) for rs in references]), "tok": tok_tag}
        if tok_tag.startswith("ptb"):
            common["eol"] = "space"

        if scored.bleu is not None:
            from vlmeval.metrics.bleu import bleu_corpus, bleu_per_image

            bstats = scored.bleu
            corpus, per_image = bleu_corpus(bstats), bleu_per_image(bstats)
            for key in (k for k in wanted if k.startswith("Bleu_")):
                n = int(key.split("_")[1])
                metrics[key] = float(corpus[n - 1])
                per_sample[key] = per_image[:, n - 1].tolist()
                sigs[key] = signature(
                    f"BLEU-{n}", {"reflen": "closest", "smooth": "1e-15,1e-9", **common, "parity": PARITY}
                )
            # BLEU's sufficient statistics per sample (integers; one list per n-gram order)
            stats["bleu"] = {
                "correct": bstats.correct.T.astype(np.int64).tolist(),
                "guess": bstats.guess.T.astype(np.int64).tolist(),
                "testlen": bstats.testlen.astype(np.int64).tolist(),
                "reflen": bstats.reflen.astype(np.int64).tolist(),
            }
        if scored.cider is not None:
            from vlmeval.metrics.cider import SIGMA

            metrics["CIDEr"] = float(np.mean(scored.cider))
            per_sample["CIDEr"] = scored.cider.tolist()
            sigs["CIDEr"] = signature(
                "CIDEr-D", {"n": 4, "sigma": f"{SIGMA:g}", "idf": f"corpus-{num}", **common, "parity": PARITY}
            )
            if num < SMALL_CORPUS:
                warnings.append(
                    f"CIDEr-D on {num} {unit}: its IDF comes from the evaluated set, which is unreliable "
                    f"below ~{SMALL_CORPUS} (a set of one gives 0 by definition)"
                )
        if scored.rouge is not None:
            from vlmeval.metrics.rouge import BETA

            metrics["ROUGE_L"] = float(np.mean(scored.rouge))
            per_sample["ROUGE_L"] = scored.rouge.tolist()
            sigs["ROUGE_L"] = signature(
                "ROUGE-L", {"beta": f"{BETA:g}", "split": "space", **common, "parity": PARITY}
            )
        if "SPICE" in wanted:
            from vlmeval.metrics.spice import spice

            with progress.step("SPICE 1.0 (Java)"):
                corpus_s, per_image_s = spice(hyps, refs)
            metrics["SPICE"] = corpus_s
            per_sample["SPICE"] = per_image_s.tolist()
            sigs["SPICE"] = signature("SPICE-1.0", {"subset": "yes", **common, "parity": PARITY})
        if meteor_jar is not None:
            with progress.step("METEOR 1.5 (Java)", total=num) as advance:
                corpus_m, per_image_m, meteor_stats = meteor_jar.score_with_stats(hyps, refs, advance)
            metrics["METEOR"] = corpus_m
            per_sample["METEOR"] = per_image_m.tolist()
            sigs["METEOR"] = signature(
                "METEOR-1.5",
                {"lang": "en", "norm": "yes", "para": "en", "agg": "eval-line", **common, "parity": PARITY},
            )
    finally:
        if meteor_jar is not None:
            meteor_jar.close()
    result = TextScores(metrics, per_sample, sigs, warnings, stats, scored.hyps, java_version)
    if meteor_jar is not None and "METEOR" in metrics:
        from vlmeval.metrics.meteor_jar import meteor_estimator

        # the jar's EVAL on each resample's statistics lines: the corpus score as the jar computes it
        result.estimators["METEOR"] = meteor_estimator(meteor_stats)
    if neural_keys:
        _score_neural(predictions, references, neural_keys, neural, images, progress, result)
    if scored.cider_stats is not None and "CIDEr" in metrics:
        from vlmeval.metrics.cider import cider_corpus

        cider_stats = scored.cider_stats
        # document frequencies recomputed on every resample, as a corpus of those images would have them
        result.estimators["CIDEr"] = lambda weights: cider_corpus(cider_stats, weights)
    return result


def _score_neural(predictions, references, keys, options, images, progress, result: TextScores) -> None:
    from vlmeval.tasks.neural import NeuralOptions, NeuralScores, score_bertscore, score_clip

    options = options or NeuralOptions()
    out = NeuralScores()
    if any(k.startswith("BERTScore") for k in keys):
        score_bertscore(predictions, references, options, out, progress)
    if any(k in ("CLIPScore", "RefCLIPScore") for k in keys):
        score_clip(predictions, references, images or [None] * len(predictions), keys, options, out, progress)
    for key in keys:
        result.metrics[key] = out.metrics[key]
        result.per_sample[key] = out.per_sample[key]
        result.signature[key] = out.signature[key]
    result.warnings.extend(out.warnings)
    result.environment.update(out.environment)
    result.skipped.update(out.skipped)
    result.counts.update(out.counts)


def evaluate_caption(
    data: CaptionData,
    metric_keys: list[str],
    *,
    tokenizer: str = DEFAULT_TOKENIZER,
    progress: Progress = QUIET,
    failures: int = 0,
    options: dict[str, Any] | None = None,
    chunk_images: int = CHUNK_IMAGES,
    neural: Any = None,
) -> Report:
    scores = score_captions(
        data.predictions,
        data.references,
        metric_keys,
        tokenizer=tokenizer,
        progress=progress,
        chunk_images=chunk_images,
        neural=neural,
        images=data.images,
    )
    counts = data.counts
    if scores.skipped or scores.counts:
        counts = {**counts, **scores.counts}
        counts["skipped"] = {**counts.get("skipped", {}), **scores.skipped}
    ordered = {k: scores.metrics[k] for k in metric_keys if k in scores.metrics}
    report = Report(
        task=TASK,
        metrics=ordered,
        scale={k: scale_of(k) for k in ordered},
        signature={k: scores.signature[k] for k in ordered},
        counts=counts,
        per_sample={"ids": data.ids, **{k: scores.per_sample[k] for k in ordered}},
        inputs=data.inputs,
        environment=environment(
            java=scores.java, pycocoevalcap=package_version("pycocoevalcap"), **scores.environment
        ),
        options={
            "tokenizer": tokenizer,
            "metrics": metric_keys,
            **({"neural": neural.as_dict()} if neural is not None and NEURAL_KEYS & set(metric_keys) else {}),
            **(options or {}),
        },
        warnings=data.warnings + scores.warnings,
        stats=scores.stats,
    )
    report.estimators = scores.estimators
    if failures and report.primary:
        key = report.primary
        report.failures = worst_samples(
            data.ids,
            report.per_sample[key],
            data.predictions,
            data.references,
            failures,
            extra={"tokens": scores.tokens, "image": data.images},
        )
    return report


@dataclass
class _Scored:
    hyps: list[str]  # tokenized predictions
    refs: list[list[str]] | None  # tokenized references, when a metric needs the strings
    bleu: Any = None  # BleuStatistics
    cider: np.ndarray | None = None
    rouge: np.ndarray | None = None
    tokenizer_stats: Any = None
    cider_stats: Any = None  # CiderStatistics of the whole set (one chunk): CIDEr-D's bootstrap estimator


def _look_ahead(lines: list[str], end: int, nonblank: int = 2) -> list[str]:
    """The lines after ``end`` through the second non-blank one: all the PTB scanner can look ahead into
    (an acronym's context is spaces, one word and a space), so a chunk tokenizes as inside the whole."""
    out = []
    for line in lines[end:]:
        out.append(line)
        nonblank -= bool(line.strip())
        if nonblank == 0:
            break
    return out


def _score_in_chunks(
    predictions: list[str],
    references: list[list[str]],
    wanted: list[str],
    tokenizer: str,
    keep_refs: bool,
    advance,
    chunk: int,
) -> _Scored:
    """Tokenize and compute BLEU, ROUGE-L and CIDEr-D chunk by chunk of images, holding only compact token
    ids between chunks: a million images fit in a few GiB. BLEU and ROUGE-L are per image; CIDEr-D's
    document frequencies are summed over the chunks (exact n-gram keys over a shared vocabulary) before any
    image is scored. Numbers do not depend on the chunk size."""
    from vlmeval.metrics.ngrams import caption_ngrams, caption_tokens

    num = len(predictions)
    want_bleu = any(k.startswith("Bleu_") for k in wanted)
    want_cider, want_rouge = "CIDEr" in wanted, "ROUGE_L" in wanted
    flat_refs = [r for rs in references for r in rs]
    ref_start = np.concatenate([[0], np.cumsum([len(rs) for rs in references])]).astype(int).tolist()
    tok_stats = None
    if tokenizer == "ptb":
        from vlmeval.tokenizers.ptb import TokenizerStats, tokenize_ptb

        tok_stats = TokenizerStats()

        def tokenize(docs):
            return tokenize_ptb(docs, stats=tok_stats)
    else:
        tokenize = get_tokenizer(tokenizer)

    vocab: dict[str, int] = {}
    encoded = []
    out = _Scored(hyps=[], refs=[] if keep_refs else None, tokenizer_stats=tok_stats)
    rouge = np.zeros(num) if want_rouge else None
    for a in range(0, max(num, 1), chunk):
        b = min(a + chunk, num)
        ref_lines, pred_lines = flat_refs[ref_start[a] : ref_start[b]], predictions[a:b]
        # references and predictions are two documents, in reference order, as COCOEvalCap tokenizes them
        ref_tok, hyp_tok = tokenize(
            [ref_lines + _look_ahead(flat_refs, ref_start[b]), pred_lines + _look_ahead(predictions, b)]
        )
        ref_tok, hyp_tok = ref_tok[: len(ref_lines)], hyp_tok[: len(pred_lines)]
        grouped = [
            ref_tok[ref_start[i] - ref_start[a] : ref_start[i + 1] - ref_start[a]] for i in range(a, b)
        ]
        out.hyps.extend(hyp_tok)
        if out.refs is not None:
            out.refs.extend(grouped)
        if want_bleu or want_cider or want_rouge:
            # BLEU and CIDEr-D split on whitespace; one encoding serves them and ROUGE-L
            tokens = caption_tokens(
                [h.split() for h in hyp_tok], [[r.split() for r in rs] for rs in grouped], vocab
            )
            if want_rouge:
                from vlmeval.metrics.rouge import rouge_l_from_tokens

                # pycocoevalcap's ROUGE-L splits on single spaces: the same tokens for single-spaced text
                # ("" reads as [""]); the others (a fraction's "3\xa01/2") get ROUGE-L's own tokens
                texts = hyp_tok + ref_tok
                odd = {i: texts[i].split(" ") for i in _not_single_spaced(texts)}
                rouge[a:b] = rouge_l_from_tokens(tokens, empty_is_a_token=True, overrides=odd)
            encoded.append(tokens)
        advance(b - a)
    out.rouge = rouge

    if want_bleu or want_cider:
        from vlmeval.metrics.bleu import BleuStatistics, bleu_statistics
        from vlmeval.metrics.cider import (
            FrequencyAccumulator,
            cider_scores,
            cider_statistics,
            document_frequencies,
        )

        base = len(vocab)
        parts, frequencies, kept = [], FrequencyAccumulator(), None
        for tokens in encoded:
            ngrams = caption_ngrams(tokens, n=4, base=base)
            if want_bleu:
                parts.append(bleu_statistics(ngrams))
            if want_cider:
                cstats = cider_statistics(ngrams)
                frequencies.add(document_frequencies(cstats))
                kept = cstats if len(encoded) == 1 else None
        if want_bleu:
            out.bleu = BleuStatistics(
                *(
                    np.concatenate([getattr(p, f) for p in parts])
                    for f in ("correct", "guess", "testlen", "reflen")
                )
            )
        if want_cider:
            df = frequencies.result()
            scores = [
                cider_scores(
                    kept if kept is not None else cider_statistics(caption_ngrams(t, n=4, base=base)), df=df
                )
                for t in encoded
            ]
            out.cider = np.concatenate(scores) if scores else np.zeros(0)
            out.cider_stats = kept
    return out


def require_caption_extras(metric_keys: list[str]) -> None:
    """Fail fast, before any work, when a requested model-based metric cannot run."""
    from vlmeval.metrics.registry import METRICS, requirement_met

    for key in metric_keys:
        needs = METRICS[key].needs
        if needs == "neural" and not requirement_met(needs):
            raise MissingDependency(
                f"{key} needs torch and transformers, which are not installed: pip install 'vlmeval[neural]'"
            )
        if needs == "spice" and not requirement_met(needs):
            from vlmeval.java import INSTALL_JAVA, find_java
            from vlmeval.metrics.spice import GET_MODELS

            if find_java() is None:
                raise MissingDependency(f"SPICE needs Java, which was not found on PATH: {INSTALL_JAVA}.")
            raise MissingDependency(
                f"SPICE needs the Stanford CoreNLP 3.6.0 jars, which are not installed: run {GET_MODELS}."
            )
