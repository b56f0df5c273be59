"""MME's ``calculation.py``, restated line by line (the oracle of tests/metrics/test_yesno.py).

Source: BradyFU/Awesome-Multimodal-Large-Language-Models, branch ``Evaluation``, ``tools/eval_tool.zip`` ->
``eval_tool/calculation.py``, committed in 1c1d69e138b57cf8b0400427927bfb8ed4285458 (2023-07-01); the
branch head was dd2950902889cd614d4edf606827240166d29381 when read. The script reads one
``<subtask>.txt`` per subtask from ``--results_dir`` (lines ``image\\tquestion\\tanswer\\tresponse\\n``) and
prints the scores; here it takes ``{subtask: lines}`` and returns what it prints. sklearn's
``accuracy_score`` (the fraction of equal labels), ``precision_score``/``recall_score`` (binary, positive
label 1, 0 on a zero denominator, as sklearn's default ``zero_division='warn'`` returns) and
``confusion_matrix(labels=[1, 0])`` are written out, so the oracle needs no sklearn.

Quirks kept: each line is split on tabs *with its line end*, so the response keeps its '\\n' (the
whole-answer test ``pred_ans in ["yes", "no"]`` then only matches a last line without a newline; the
first-four-characters test decides all others), no strip, the two questions of an image are two
consecutive lines (``divide_chunks``), an answer that is neither yes nor no is 'other' and wrong.
"""

from __future__ import annotations

eval_type_dict = {
    "Perception": ["existence", "count", "position", "color", "posters", "celebrity", "scene", "landmark",
                   "artwork", "OCR"],
    "Cognition": ["commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning"],
}  # fmt: skip


def _accuracy_score(gts, preds):
    return sum(1 for g, p in zip(gts, preds) if g == p) / len(gts)


def _confusion_matrix(gts, preds, labels):
    index = {label: i for i, label in enumerate(labels)}
    mat = [[0] * len(labels) for _ in labels]
    for g, p in zip(gts, preds):
        if g in index and p in index:
            mat[index[g]][index[p]] += 1
    return mat


def _precision(gts, preds):
    tp = sum(1 for g, p in zip(gts, preds) if g == 1 and p == 1)
    fp = sum(1 for g, p in zip(gts, preds) if g != 1 and p == 1)
    return tp / (tp + fp) if tp + fp else 0.0


def _recall(gts, preds):
    tp = sum(1 for g, p in zip(gts, preds) if g == 1 and p == 1)
    fn = sum(1 for g, p in zip(gts, preds) if g == 1 and p != 1)
    return tp / (tp + fn) if tp + fn else 0.0


class calculate_metrics:
    def divide_chunks(self, l, n=2):  # noqa: E741 (the source's name)
        # looping till length l
        for i in range(0, len(l), n):
            yield l[i : i + n]

        return

    def parse_pred_ans(self, pred_ans):
        pred_label = None
        if pred_ans in ["yes", "no"]:
            pred_label = pred_ans
        else:
            prefix_pred_ans = pred_ans[:4]

            if "yes" in prefix_pred_ans:
                pred_label = "yes"
            elif "no" in prefix_pred_ans:
                pred_label = "no"
            else:
                pred_label = "other"

        return pred_label

    def compute_metric(self, gts, preds):
        assert len(gts) == len(preds)

        label_map = {
            "yes": 1,
            "no": 0,
            "other": -1,
        }

        gts = [label_map[x] for x in gts]
        preds = [label_map[x] for x in preds]

        acc = _accuracy_score(gts, preds)

        clean_gts = []
        clean_preds = []
        other_num = 0
        for gt, pred in zip(gts, preds):
            if pred == -1:
                other_num += 1
                continue
            clean_gts.append(gt)
            clean_preds.append(pred)

        conf_mat = _confusion_matrix(clean_gts, clean_preds, labels=[1, 0])
        precision = _precision(clean_gts, clean_preds)
        recall = _recall(clean_gts, clean_preds)
        tp, fn = conf_mat[0]
        fp, tn = conf_mat[1]

        metric_dict = {
            "TP": tp, "FN": fn, "TN": tn, "FP": fp, "precision": precision, "recall": recall,
            "other_num": other_num, "acc": acc,
        }  # fmt: skip

        return metric_dict

    def process_result(self, task_lines):
        """``task_lines``: {subtask: the lines of <subtask>.txt, line ends included}. Returns
        {eval_type: {"total": score, "tasks": {subtask: score}, "labels": {subtask: [parsed labels]}}}."""
        model_score_dict = dict()
        for eval_type, task_name_list in eval_type_dict.items():
            scores = 0
            task_score_dict = dict()
            labels = dict()

            for task_name in task_name_list:
                lines = task_lines[task_name]
                chunk_lines = list(self.divide_chunks(lines))  # one image corresponds to two questions

                img_num = len(chunk_lines)
                task_other_ans_num = 0
                task_score = 0
                acc_plus_correct_num = 0
                gts = []
                preds = []

                for img_items in chunk_lines:
                    assert len(img_items) == 2
                    img_correct_num = 0

                    for img_item in img_items:
                        img_name, question, gt_ans, pred_ans = img_item.split("\t")

                        gt_ans = gt_ans.lower()
                        pred_ans = pred_ans.lower()

                        assert gt_ans in ["yes", "no"]  # gt can only be yes or no.

                        pred_ans = self.parse_pred_ans(pred_ans)
                        assert pred_ans in ["yes", "no", "other"]

                        gts.append(gt_ans)
                        preds.append(pred_ans)

                        if gt_ans == pred_ans:
                            img_correct_num += 1

                        if pred_ans not in ["yes", "no"]:
                            task_other_ans_num += 1

                    if img_correct_num == 2:
                        acc_plus_correct_num += 1

                # cal TP precision acc, etc.
                metric_dict = self.compute_metric(gts, preds)
                acc_plus = acc_plus_correct_num / img_num
                metric_dict["acc_plus"] = acc_plus

                for k, v in metric_dict.items():
                    if k in ["acc", "acc_plus"]:
                        task_score += v * 100

                task_score_dict[task_name] = task_score
                labels[task_name] = preds

                scores += task_score

            model_score_dict[eval_type] = {"total": scores, "tasks": task_score_dict, "labels": labels}
        return model_score_dict
