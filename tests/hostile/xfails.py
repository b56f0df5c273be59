"""Why a case fails today, by class. A case marked with one of these keys runs as
``xfail(strict=True)``: the fix that makes it pass turns it red until its mark is removed. Every class here
lies outside the input layer (vlmeval/io/{readers,fields,images,retrieval,grounding}.py), which has no
marks left; the file named in each reason is where the fix belongs."""

from __future__ import annotations

XFAIL: dict[str, str] = {
    # data loss
    "out-is-input": "data loss: an output path that is (or links to) an input is overwritten; must be exit 2 "
    "before any work, comparing resolved paths and inode/device (cli.py)",
    "out-path": "an output path that ends in a separator, is empty, or names a directory or a FIFO must be one "
    "sentence, exit 2 (cli.py / report.write_atomic)",
    "out-gz": "--out r.json.gz writes plain JSON under a .gz name: compress it or refuse (report/report.py)",
    # model text is data
    "markup": "model or user text is parsed as Rich markup: [/x] crashes the table (MarkupError, exit 3), "
    "[b]x[/b] renders as x (report/table.py, cli.py); escape every cell",
    "terminal": "control characters in model text reach the terminal raw (ESC[2J, OSC titles); show them "
    "visibly on a terminal (report/table.py, cli.py)",
    "help-markup": "help/metrics text loses [neural], [ids]... to Rich markup (cli.py help strings, metrics table)",
    # exit codes and messages
    "closed-stdout": "a closed stdout (| head) must exit 0 or 141, never 1, and print nothing (cli.py)",
    "ascii-stdout": "a stdout that cannot encode the output (PYTHONIOENCODING=ascii) must degrade, not fail "
    "(cli.py output streams)",
    "usage-box": "usage errors are a multi-line Typer box; they must be one line "
    "(error: --iou must be in (0, 1], got 2) while --help stays (cli.py)",
    "option-nonfinite": "NaN/inf accepted by a numeric option; must be a usage error, exit 2 (cli.py)",
    "option-range": "an out-of-range or contradictory option value is accepted; must be exit 2 (cli.py)",
    "int-overflow": "a huge integer option (--bootstrap 99999999999999999999) or a negative --seed crashes "
    "(exit 3); must be a usage error (cli.py / report/bootstrap.py)",
    "empty-metrics": '--metrics "" or "," computes nothing and exits 0; must be a usage error (tasks/*)',
    "gate-nonfinite": "a NaN/inf gate threshold (--min-cider nan, --max-drop M=nan) disables the gate; must be "
    "exit 2 (cli.py, report/compare.py drop_gates)",
    "report-file": "a report file that is not a regular readable file (FIFO, directory, symlink loop) is "
    "reported as 'no such file' (report/report.py load_report)",
    "report-shape": "a report whose fields have the wrong shape (metrics not an object, deep nesting, ...) "
    "crashes (exit 3) or is misreported; must be one sentence, exit 2 (report/report.py from_dict)",
    "compare-per-sample": "a corrupt per_sample in a compared report is reported as 'no per-sample "
    "statistics' or crashes; must name the field (report/bootstrap.py estimators_for)",
    "scores-length": "a grounding 'scores' list of the wrong length is reported without FILE:LINE "
    "(tasks/grounding.py; io/grounding.GroundingData has no record locations to give it)",
    # silent coercion outside the input layer's files
    "coercion-qa": "io/qa.py stringifies numbers and objects in 'answers' and group fields (answer_type, "
    "evidence...): a wrong field type must be an error at FILE:LINE (io/qa.py _answers/_group_values)",
}

# the cases that fail today, by class (regenerate with `python -m tests.hostile.calibrate`); a fix deletes
# its names here. Today's failures, what they do and what they should do:
# - coercion-qa: answers [1, 2] and answer_type/evidence objects are stringified -> exit 2 at FILE:LINE
# - compare-per-sample-no-ids: a compared report without per_sample.ids -> KeyError, exit 3
# - retrieval-k-huge: --k 99999999999999999999 -> OverflowError, exit 3
# - grounding-out-is-image: --out naming an image read for its size overwrites the image
# - *-out-fifo: --out naming an existing FIFO replaces the FIFO with a regular file (exit 0)
# - report-huge-int: a report holding a 5000-digit number -> json's ValueError, exit 3 (report.load_report)
# - grounding-scores-wrong-length: "id 139_62: 1 scores for 4 parsed boxes", no FILE:LINE
FAILING: dict[str, list[str]] = {}
