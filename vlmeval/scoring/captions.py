"""COCOEvalCap's pipeline over lists of captions: PTB-tokenize the predictions and the references, then BLEU-1..4,
METEOR, ROUGE-L, CIDEr-D and SPICE on the tokens, as pycocoevalcap 1.2 computes them; BERTScore and
CLIPScore/RefCLIPScore on the raw text (``vlmeval.scoring.model_metrics``). The caption task runs it on
captions, VQA and DocVQA on free-form answers (the answers as references).

The metric declarations below are the ones those tasks report; the signatures are built from the metric
modules' own constants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from vlmeval.progress import QUIET, Progress
from vlmeval.report.signature import nrefs, number, signature, yes_no
from vlmeval.tasks.task import Metric, Option, Result
from vlmeval.tokenizers import DEFAULT_TOKENIZER, TOKENIZERS, get_tokenizer, tokenizer_tag

PARITY = "pycocoevalcap-1.2"
SMALL_CORPUS = 100  # CIDEr-D's IDF comes from the evaluated set: warn below this many samples
CHUNK_IMAGES = 10_000  # images per chunk: bounds memory whatever the corpus size

BLEU = tuple(
    Metric(f"Bleu_{n}", "0-1", "pycocoevalcap 1.2 Bleu", family="Bleu", interval="bleu", arg=n)
    for n in range(1, 5)
)
METEOR = Metric("METEOR", "0-1", "pycocoevalcap 1.2 Meteor (meteor-1.5.jar)", needs="java", interval="meteor")
ROUGE_L = Metric("ROUGE_L", "0-1", "pycocoevalcap 1.2 Rouge (beta 1.2)", family="ROUGE")
CIDER = Metric("CIDEr", "0-10", "pycocoevalcap 1.2 Cider (CIDEr-D)", interval="cider")
SPICE = Metric("SPICE", "0-1", "pycocoevalcap 1.2 Spice (spice-1.0.jar)", needs="spice", default=False)
COCO_METRICS = (*BLEU, METEOR, ROUGE_L, CIDER, SPICE)
COCO_KEYS = {m.key: m for m in COCO_METRICS}
BLEU_KEYS = tuple(m.key for m in BLEU)

TOKENIZER_OPTION = Option(
    "tokenizer",
    str,
    DEFAULT_TOKENIZER,
    "ptb: Java-free, the jar's tokens; ptb-jar: run CoreNLP's jar itself.",
    choices=tuple(TOKENIZERS),
    panel="Text metrics",
)


_NOT_SINGLE_SPACED = re.compile(r"[^\S ]|  |^ | $")


_LINE_BREAK = re.compile("[\r\x0b\x0c\u2028\u2029]")


def _line_breaks(predictions: list[str], references: list[list[str]]) -> int:
    """Captions with a character CoreNLP takes as a line end (pycocoevalcap only replaces \\n)."""
    count = sum(1 for p in predictions if _LINE_BREAK.search(p))
    return count + sum(1 for rs in references for r in rs if _LINE_BREAK.search(r))


def _not_single_spaced(texts: list[str]) -> list[int]:
    """Indices of strings whose tokens are not separated by single spaces alone (other whitespace, padding)."""
    joined = "\n".join(texts)
    if not re.search(r"[^\S \n]|  |^ | $", joined, re.MULTILINE):
        return []
    return [i for i, t in enumerate(texts) if _NOT_SINGLE_SPACED.search(t)]


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
) -> Result:
    """The metrics asked for, on the predictions and their references. Returns per-sample scores without
    ids, the tokenized predictions as ``columns["tokens"]``, the Java version (when Java ran) in
    ``environment``, and the bootstrap estimators of the corpus metrics."""
    from vlmeval.scoring.model_metrics import MODEL_KEYS

    warnings: list[str] = []
    wanted = [k for k in metric_keys if k in COCO_KEYS]
    model_keys = [k for k in metric_keys if k in MODEL_KEYS]
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
    result = Result(metrics={}, per_sample={}, signature={}, counts={}, inputs=[], warnings=warnings)
    broken = _line_breaks(predictions, references)
    if broken:
        result.counts["caption_line_breaks"] = broken
        warnings.append(
            f"{broken} caption{'s contain' if broken != 1 else ' contains'} a line break (\\r, \\x0b, \\x0c, U+2028 or U+2029): pycocoevalcap's "
            "tokenizer would split each in two and shift every later caption onto the wrong image; vlmeval "
            "reads them as spaces (signature eol:space), so its numbers differ from pycocoevalcap's there"
        )
    metrics_out, per_sample, sigs, stats = result.metrics, result.per_sample, result.signature, result.stats
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
            from vlmeval.metrics import bleu

            bstats = scored.bleu
            corpus, per_image = bleu.bleu_corpus(bstats), bleu.bleu_per_image(bstats)
            fields = {"reflen": bleu.REFLEN, "smooth": f"{number(bleu.TINY)},{number(bleu.SMALL)}"}
            for key in (k for k in wanted if k in BLEU_KEYS):
                n = COCO_KEYS[key].arg
                metrics_out[key] = float(corpus[n - 1])
                per_sample[key] = per_image[:, n - 1].tolist()
                sigs[key] = signature(f"BLEU-{n}", {**fields, **common, "parity": PARITY})
            # BLEU's sufficient statistics per sample (integers; one list per n-gram order)
            stats["bleu"] = {
                "correct": bstats.correct.T.astype(np.int64).tolist(),
                "guess": bstats.guess.T.astype(np.int64).tolist(),
                "testlen": bstats.testlen.astype(np.int64).tolist(),
                "reflen": bstats.reflen.astype(np.int64).tolist(),
            }
        if scored.cider is not None:
            from vlmeval.metrics.cider import SIGMA, ChunkedCider, N

            metrics_out["CIDEr"] = float(np.mean(scored.cider))
            per_sample["CIDEr"] = scored.cider.tolist()
            fields = {"n": N, "sigma": number(SIGMA), "idf": f"corpus-{num}"}
            sigs["CIDEr"] = signature("CIDEr-D", {**fields, **common, "parity": PARITY})
            # document frequencies recomputed on every resample, as a corpus of those images would have them
            result.estimators["CIDEr"] = ChunkedCider(scored.cider_chunks)
            if num < SMALL_CORPUS:
                warnings.append(
                    f"CIDEr-D on {num} {unit}: its IDF comes from the evaluated set, which is unreliable "
                    f"below ~{SMALL_CORPUS} (a set of one gives 0 by definition)"
                )
        if scored.rouge is not None:
            from vlmeval.metrics.rouge import BETA, SPLIT

            metrics_out["ROUGE_L"] = float(np.mean(scored.rouge))
            per_sample["ROUGE_L"] = scored.rouge.tolist()
            sigs["ROUGE_L"] = signature(
                "ROUGE-L", {"beta": number(BETA), "split": SPLIT, **common, "parity": PARITY}
            )
        if "SPICE" in wanted:
            from vlmeval.metrics.spice import SUBSET, spice

            with progress.step("SPICE 1.0 (Java)"):
                corpus_s, per_image_s = spice(hyps, refs)
            metrics_out["SPICE"] = corpus_s
            per_sample["SPICE"] = per_image_s.tolist()
            sigs["SPICE"] = signature("SPICE-1.0", {"subset": yes_no(SUBSET), **common, "parity": PARITY})
        if meteor_jar is not None:
            from vlmeval.metrics import meteor_jar as jar

            with progress.step("METEOR 1.5 (Java)", total=num) as advance:
                corpus_m, per_image_m, meteor_stats = meteor_jar.score_with_stats(hyps, refs, advance)
            metrics_out["METEOR"] = corpus_m
            per_sample["METEOR"] = per_image_m.tolist()
            fields = {
                "lang": jar.LANGUAGE,
                "norm": yes_no(jar.NORMALIZE),
                "para": jar.LANGUAGE,
                "agg": "eval-line",
            }
            sigs["METEOR"] = signature("METEOR-1.5", {**fields, **common, "parity": PARITY})
            # the jar's EVAL on each resample's statistics lines: the corpus score as the jar computes it
            result.estimators["METEOR"] = jar.meteor_estimator(meteor_stats)
    finally:
        if meteor_jar is not None:
            meteor_jar.close()
    result.columns["tokens"] = scored.hyps
    if java_version is not None:
        result.environment["java"] = java_version
    if model_keys:
        from vlmeval.scoring.model_metrics import score_model_metrics

        score_model_metrics(predictions, references, model_keys, neural, images, progress, result)
    return result


@dataclass
class _Scored:
    hyps: list[str]  # tokenized predictions
    refs: list[list[str]] | None  # tokenized references, when a metric needs the strings
    bleu: Any = None  # BleuStatistics
    cider: np.ndarray | None = None
    rouge: np.ndarray | None = None
    tokenizer_stats: Any = None
    cider_chunks: Any = None  # () -> the CiderStatistics of each chunk: CIDEr-D's bootstrap estimator


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
    want_bleu = any(k in BLEU_KEYS for k in wanted)
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

    from vlmeval.tokenizers.ptb import chunk_bounds, markup_line_spans

    ref_markup, pred_markup = markup_line_spans(flat_refs), markup_line_spans(predictions)
    vocab: dict[str, int] = {}
    encoded = []
    out = _Scored(hyps=[], refs=[] if keep_refs else None, tokenizer_stats=tok_stats)
    rouge = np.zeros(num) if want_rouge else None
    for a in range(0, max(num, 1), chunk):
        b = min(a + chunk, num)
        # references and predictions are two documents, in reference order, as COCOEvalCap tokenizes them;
        # each chunk with the lines around it the scanner reads (look-ahead, markup across its ends)
        r_lo, r_hi = chunk_bounds(flat_refs, ref_start[a], ref_start[b], ref_markup)
        p_lo, p_hi = chunk_bounds(predictions, a, b, pred_markup)
        ref_tok, hyp_tok = tokenize([flat_refs[r_lo:r_hi], predictions[p_lo:p_hi]])
        ref_tok = ref_tok[ref_start[a] - r_lo : ref_start[b] - r_lo]
        hyp_tok = hyp_tok[a - p_lo : b - p_lo]
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
        from vlmeval.metrics.cider import N as CIDER_N

        base = len(vocab)
        parts, frequencies, kept = [], FrequencyAccumulator(), None
        for tokens in encoded:
            ngrams = caption_ngrams(tokens, n=CIDER_N, base=base)
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

            def chunk_statistics(tokens):
                return cider_statistics(caption_ngrams(tokens, n=CIDER_N, base=base))

            scores = [cider_scores(kept if kept is not None else chunk_statistics(t), df=df) for t in encoded]
            out.cider = np.concatenate(scores) if scores else np.zeros(0)
            # one chunk keeps its statistics; several rebuild theirs only if a bootstrap asks for them
            out.cider_chunks = (
                (lambda: [kept]) if kept is not None else (lambda: [chunk_statistics(t) for t in encoded])
            )
    return out
