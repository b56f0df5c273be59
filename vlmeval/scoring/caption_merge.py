"""The COCO caption pipeline (``vlmeval.scoring.captions``) across the parts of a sharded run: what a part keeps
for ``vlmeval merge``, and the merge. Used by the caption task, and by vqa and docvqa for free-form answers.

What is a sum, and what is not:
- BLEU, METEOR (the EVAL line from summed SCORE statistics), ROUGE-L, SPICE, BERTScore and CLIPScore are per
  sample or sums of per-sample statistics: the parts' lists end to end give the run's numbers.
- CIDEr-D's IDF comes from all references. A part keeps its images' tokens as compact ids (its words in text
  order, ids zlib-packed); the merge renumbers them into the run's vocabulary and runs CIDEr-D's n-gram
  counting and scoring over all images again, as one run does (a second pass over token ids: no tokenizer,
  no text). Token ids follow the tokens' text in every run (``captions.by_text``), so an image's n-grams are
  summed in the same order in a part and in the whole run: equal bit for bit.
- The tokenizer's note on captions it cannot guarantee (``tok:...+jar:N``) counts the lines of each chunk's
  documents as one run chunks them: a part counts the run's chunks that start in its slice.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vlmeval.errors import VlmevalError
from vlmeval.tasks.task import Result


def tokenizer_evidence(window, num: int, chunk: int) -> dict[str, Any]:
    """What the tokenizer notes for the run's chunks (of ``chunk`` images from the first) that start in this
    part's slice: how many captions it cannot guarantee, the first three of the references' and of the
    predictions' (one run lists the references' first), and whether Java (the jar) took them."""
    from vlmeval.java import find_java
    from vlmeval.tokenizers.ptb import chunk_bounds, markup_line_spans, unsure_lines

    preds, refs = window.predictions, [r for rs in window.references for r in rs]
    ref_start = np.concatenate([[0], np.cumsum([len(rs) for rs in window.references])]).astype(int).tolist()
    markup = markup_line_spans(refs), markup_line_spans(preds)
    unsure, examples = 0, {"references": [], "predictions": []}
    first = -(-window.start // chunk) * chunk  # the first chunk start in [start, start + num)
    for a in range(first, window.start + num, chunk):
        b = min(a + chunk, len(preds))
        for doc, lines, (lo, hi), spans in (("references", refs, (ref_start[a], ref_start[b]), markup[0]),
                                            ("predictions", preds, (a, b), markup[1])):  # fmt: skip
            lo, hi = chunk_bounds(lines, lo, hi, spans)
            found = unsure_lines(lines[lo:hi])[1]
            unsure += len(found)
            examples[doc].extend(found[: 3 - len(examples[doc])])
    return {"unsure": unsure, "examples": examples, "java": unsure > 0 and find_java() is not None}


def cider_evidence(chunks: list, words: list[str]) -> dict[str, Any]:
    """A part's images as token ids (its words in text order): what the merge rescores CIDEr-D from."""
    from vlmeval.shard import pack

    columns: dict[str, list[np.ndarray]] = {"hyp_ids": [], "ref_ids": [], "hyp_lengths": [], "ref_lengths": [],
                                            "refs_per_image": []}  # fmt: skip
    for tokens in chunks:
        lengths, n = tokens.encoded.lengths, tokens.num_images
        split = int(lengths[:n].sum())
        for name, values in (("hyp_ids", tokens.encoded.ids[:split]), ("ref_ids", tokens.encoded.ids[split:]),
                             ("hyp_lengths", lengths[:n]), ("ref_lengths", lengths[n:]),
                             ("refs_per_image", tokens.refs_per_image)):  # fmt: skip
            columns[name].append(np.asarray(values))
    width = "int32" if len(words) < 2**31 else "int64"
    out: dict[str, Any] = {"words": words}
    for name, values in columns.items():
        joined = np.concatenate(values) if values else np.zeros(0, dtype=np.int64)
        out[name] = pack(joined, width if name.endswith("ids") else "int64")
    return out


def merged_cider(parts: list, chunk: int) -> tuple[np.ndarray, Any]:
    """Per-image CIDEr-D over all the parts' images, with the IDF of all their references, and its bootstrap
    estimator: the parts' token ids renumbered into the run's vocabulary, counted and scored in chunks."""
    from vlmeval.metrics.cider import ChunkedCider, DocumentFrequencies, N, cider_scores, cider_statistics
    from vlmeval.metrics.cider import document_frequencies as frequencies_of
    from vlmeval.metrics.ngrams import CaptionTokens, Encoded, caption_ngrams
    from vlmeval.shard import evidence, unpack

    found = evidence(parts, "cider")
    words = sorted(set().union(*(f["words"] for f in found)))
    rank = {w: i for i, w in enumerate(words)}
    columns: dict[str, list[np.ndarray]] = {}
    for f in found:
        to_run = np.array([rank[w] for w in f["words"]], dtype=np.int64)
        for name in ("hyp_ids", "ref_ids", "hyp_lengths", "ref_lengths", "refs_per_image"):
            values = unpack(f[name]).astype(np.int64)
            columns.setdefault(name, []).append(to_run[values] if name.endswith("ids") else values)
    hyp_ids, ref_ids, hyp_len, ref_len, per_image = (np.concatenate(columns[k]) for k in columns)
    dtype = np.int32 if len(words) < 2**31 else np.int64
    hyp_at, ref_at = np.r_[0, np.cumsum(hyp_len)], np.r_[0, np.cumsum(ref_len)]
    ref_of = np.r_[0, np.cumsum(per_image)]
    n, base = len(hyp_len), len(words)

    def tokens(a: int, b: int) -> CaptionTokens:
        r_a, r_b = ref_of[a], ref_of[b]
        ids = np.concatenate([hyp_ids[hyp_at[a] : hyp_at[b]], ref_ids[ref_at[r_a] : ref_at[r_b]]]).astype(
            dtype
        )
        lengths = np.concatenate([hyp_len[a:b], ref_len[r_a:r_b]])
        owner = np.repeat(np.arange(b - a, dtype=np.int64), per_image[a:b])
        return CaptionTokens(Encoded(ids, lengths, {}), b - a, owner, per_image[a:b])

    spans = [(a, min(a + chunk, n)) for a in range(0, n, chunk)]

    def statistics(a: int, b: int):
        return cider_statistics(caption_ngrams(tokens(a, b), n=N, base=base))

    # document frequencies first (integer counts: their sum does not depend on the chunks), then the scores
    df = DocumentFrequencies.total([frequencies_of(statistics(a, b)) for a, b in spans])
    scores = np.concatenate([cider_scores(statistics(a, b), df=df) for a, b in spans])
    return scores, ChunkedCider(lambda: [statistics(a, b) for a, b in spans])


def _tokenizer(parts: list) -> tuple[int, int, list[str]]:
    """The run's (jar, approximate) counts of captions the tokenizer cannot guarantee, and its examples."""
    from vlmeval.shard import evidence

    found = evidence(parts, "tokenizer")
    counted = [f for f in found if f["unsure"]]
    if len({f["java"] for f in counted}) > 1:
        raise VlmevalError(
            "the parts ran with and without Java: some captions' tokens came from the jar in some parts and not in "
            "others, which no single run does; rerun the parts on machines that agree"
        )
    unsure = sum(f["unsure"] for f in counted)
    java = bool(counted) and counted[0]["java"]
    # one run lists the references' first three, then the predictions'
    listed = {doc: [e for f in found for e in f["examples"][doc]][:3] for doc in ("references", "predictions")}
    examples = (listed["references"] + listed["predictions"])[:3]
    return (unsure, 0, examples) if java else (0, unsure, examples)


def _meteor_impl(parts: list) -> str:
    """The run's METEOR ``impl`` from the parts': jar, py, or py+jar:N / py~approx:N summed."""
    from vlmeval.shard import signature_field

    impls = [signature_field(p.signature["METEOR"], "impl") or "py" for p in parts]
    if all(i == "jar" for i in impls):
        return "jar"
    jar = sum(int(i.partition(":")[2]) for i in impls if i.startswith("py+jar:"))
    approx = sum(int(i.partition(":")[2]) for i in impls if i.startswith("py~approx:"))
    if jar and approx:
        raise VlmevalError(
            "the parts ran METEOR with and without Java (py+jar and py~approx): rerun them alike"
        )
    return f"py+jar:{jar}" if jar else f"py~approx:{approx}" if approx else "py"


def merge_pipeline(parts: list, keys: list[str], unit: str, chunk: int) -> Result:
    """The pipeline's part of the run's result from the parts: corpus metrics from the joined statistics,
    CIDEr-D rescored, per-sample CIDEr-D, signatures, counts, warnings, statistics and estimators (other
    per-sample lists are the parts' end to end)."""
    from vlmeval import shard
    from vlmeval.scoring import captions
    from vlmeval.scoring.model_metrics import MODEL_KEYS, merge_model_metrics

    total = parts[0].shard["total"]
    out = Result(metrics={}, per_sample={}, signature={}, counts={}, inputs=[])
    wanted = [k for k in keys if k in captions.COCO_KEYS]
    broken = sum(c.get("caption_line_breaks", 0) for c in shard.evidence(parts, "counts"))
    if broken:
        out.counts["caption_line_breaks"] = broken
        out.warnings.append(captions.line_break_warning(broken))
    tok_note = ""
    if wanted and parts[0].options.get("tokenizer", "ptb") == "ptb":
        jar, approximate, examples = _tokenizer(parts)
        if jar or approximate:
            tok_note = captions.unsure_tag(jar, approximate)
            out.warnings.append(captions.tokenizer_warning(jar, approximate, examples))
    signatures = shard.merged_signatures(parts, wanted)
    for key in wanted:
        signature = signatures[key]
        tok = shard.signature_field(signature, "tok")
        if tok is not None:
            signature = shard.with_field(
                signature, "tok", tok.partition("+jar:")[0].partition("~approx:")[0] + tok_note
            )
        out.signature[key] = signature
    bleu_keys = [k for k in wanted if k in captions.BLEU_KEYS]
    if bleu_keys:
        from vlmeval.metrics.bleu import BleuStatistics, bleu_corpus

        orders = range(len(parts[0].stats["bleu"]["correct"]))  # per n-gram order, one list per sample
        table = {name: [x for p in parts for x in p.stats["bleu"][name]] if name in ("testlen", "reflen") else
                 [[x for p in parts for x in p.stats["bleu"][name][k]] for k in orders]
                 for name in ("correct", "guess", "testlen", "reflen")}  # fmt: skip
        stats = BleuStatistics(*(np.asarray(table[f], dtype=np.float64).T if f in ("correct", "guess")
                                 else np.asarray(table[f], dtype=np.float64) for f in table))  # fmt: skip
        corpus = bleu_corpus(stats)
        for key in bleu_keys:
            out.metrics[key] = float(corpus[captions.COCO_KEYS[key].arg - 1])
        out.stats["bleu"] = table
    if "CIDEr" in wanted:
        scores, out.estimators["CIDEr"] = merged_cider(parts, chunk)
        out.metrics["CIDEr"] = float(np.mean(scores))
        out.per_sample["CIDEr"] = scores.tolist()
        out.signature["CIDEr"] = shard.with_field(out.signature["CIDEr"], "idf", f"corpus-{total}")
        if total < captions.SMALL_CORPUS:
            out.warnings.append(captions.small_corpus_warning(total, unit))
    for key in ("ROUGE_L", "SPICE"):
        if key in wanted:
            out.metrics[key] = float(np.mean(np.asarray(shard.per_sample(parts, key), dtype=np.float64)))
    if "METEOR" in wanted:
        out.metrics["METEOR"], impl = _merged_meteor(parts, out)
        out.signature["METEOR"] = shard.with_field(out.signature["METEOR"], "impl", impl)
        if impl.startswith("py") and impl != "py":
            out.warnings.append(captions.meteor_warning(impl))
    model_keys = [k for k in keys if k in MODEL_KEYS]
    if model_keys:
        merge_model_metrics(parts, model_keys, out)
    return out


def _merged_meteor(parts: list, out: Result) -> tuple[float, str]:
    """METEOR's corpus score, the EVAL line, from all the parts' statistics (the jar's own EVAL when the
    jar scored them: its arithmetic prints the number the run reports)."""
    from vlmeval.metrics.meteor import MeteorStatistics, meteor_corpus

    found = [MeteorStatistics.from_lists(p.stats["meteor"]) for p in parts]
    stats = MeteorStatistics(
        np.concatenate([s.stats for s in found]), np.concatenate([s.unreproduced for s in found])
    )
    out.stats["meteor"] = stats.to_lists()
    impl = _meteor_impl(parts)
    if impl != "jar":
        return float(meteor_corpus(stats)), impl
    from vlmeval.java import require_java
    from vlmeval.metrics.meteor_jar import MeteorJar

    require_java("merging METEOR scored by the jar (--meteor jar; its EVAL line is the corpus score)")
    with MeteorJar() as jar:
        return jar.evaluate(stats.lines())[0], impl
