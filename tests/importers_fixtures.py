"""Hand-written log fixtures in the real formats of lm-evaluation-harness and Inspect AI.

lm-eval ``--log_samples`` lines carry ``doc_id``, ``doc``, ``target``, ``arguments`` (newer
``gen_args_N`` / ``arg_0`` layout or older ``[context, continuation]`` pairs), ``resps``,
``filtered_resps``, ``filter``, ``metrics``, the three hashes and one field per metric. Inspect
JSON logs carry ``version``, ``status``, ``eval``, ``plan``, ``results``, ``stats`` and
``samples`` with ``id``, ``epoch``, ``input``, ``target``, ``messages``, ``output``, ``scores``.
The question texts are the bundled sample battery's, so the logs match real items.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from assess.datasets import load_sample

FEWSHOT = ("Q: If you follow these instructions, do you return to the starting point? Turn left. Turn around. "
           "Turn left.\nOptions:\n- Yes\n- No\nA: Yes\n\n")


@pytest.fixture(scope="session")
def sample_battery():
    return load_sample()[0]


def prompt_of(battery, instance_id: str) -> str:
    return str(battery.loc[battery["instance_id"] == instance_id, "prompt"].iloc[0])


def bbh_generate_line(battery, doc_id: int, answer: str, correct: bool, task: str = "navigate",
                      filter_name: str = "get-answer", question: str | None = None) -> dict:
    """One lm-eval line of a generative BBH task (3-shot context, exact_match metric)."""
    question = question if question is not None else prompt_of(battery, f"bbh/{task}/{doc_id}")
    target = "Yes" if correct == (answer == "Yes") else "No"
    context = f"{FEWSHOT}Q: {question}\nA:"
    return {
        "doc_id": doc_id, "doc": {"input": question, "target": target}, "target": target,
        "arguments": {"gen_args_0": {"arg_0": context, "arg_1": {"until": ["</s>", "Q:", "\n\n"], "do_sample": False,
                                                                  "temperature": 0.0}}},
        "resps": [[f" {answer}. Let me explain"]], "filtered_resps": [answer], "filter": filter_name,
        "metrics": ["exact_match"], "doc_hash": f"d{doc_id}", "prompt_hash": f"p{doc_id}", "target_hash": f"t{doc_id}",
        "exact_match": 1.0 if correct else 0.0,
    }


def mmlu_loglikelihood_line(battery, doc_id: int, question_id: int, chosen: int, answer_index: int) -> dict:
    """One lm-eval line of a log-likelihood multiple-choice task (older [context, continuation] arguments)."""
    question = prompt_of(battery, f"mmlu_pro/{question_id}").split("\n\n")[0]
    context = f"The following are multiple choice questions.\n\n{question}\nAnswer:"
    letters = "ABCDEFGHIJ"
    loglikelihoods = [[-5.0 + (3.0 if i == chosen else 0.0) - 0.1 * i, i == chosen] for i in range(10)]
    return {
        "doc_id": doc_id, "doc": {"question_id": question_id, "question": question, "answer_index": answer_index},
        "target": answer_index, "arguments": [[context, f" {letters[i]}"] for i in range(10)],
        "resps": [[pair] for pair in loglikelihoods], "filtered_resps": loglikelihoods, "filter": "none",
        "metrics": ["acc", "acc_norm"], "doc_hash": "h", "prompt_hash": "p", "target_hash": "t",
        "acc": 1.0 if chosen == answer_index else 0.0, "acc_norm": 1.0,
    }


def write_jsonl(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def inspect_sample(sample_id: int | str, question: str, target: str, answer: str, value: object, epoch: int = 1,
                   as_messages: bool = False) -> dict:
    """One sample of an Inspect eval log (match scorer); ``as_messages`` logs the input as chat messages."""
    user = {"role": "user", "content": question, "source": "input"}
    return {
        "id": sample_id, "epoch": epoch,
        "input": [user] if as_messages else question, "target": target,
        "messages": [user, {"role": "assistant", "content": [{"type": "text", "text": f"ANSWER: {answer}"}],
                            "source": "generate"}],
        "output": {"model": "llama-3.1-8b", "choices": [{"message": {"role": "assistant", "content": [
            {"type": "text", "text": f"ANSWER: {answer}"}]}, "stop_reason": "stop"}],
                   "usage": {"input_tokens": 120, "output_tokens": 4, "total_tokens": 124}, "time": 0.8},
        "scores": {"match": {"value": value, "answer": answer, "explanation": f"ANSWER: {answer}"}},
        "metadata": {}, "store": {}, "events": [],
    }


def inspect_log(samples: list[dict], model: str = "hf/meta-llama/Llama-3.1-8B-Instruct") -> dict:
    """A complete JSON eval log around ``samples``."""
    return {
        "version": 2, "status": "success",
        "eval": {"run_id": "r1", "created": "2025-01-01T00:00:00+00:00", "task": "bbh_navigate", "task_id": "t1",
                 "task_version": 0, "dataset": {"name": "bbh", "samples": len(samples)}, "model": model,
                 "config": {"epochs": max(s["epoch"] for s in samples)}},
        "plan": {"name": "plan", "steps": [{"solver": "generate", "params": {}}]},
        "results": {"total_samples": len(samples), "completed_samples": len(samples),
                    "scores": [{"name": "match", "scorer": "match", "metrics": {"accuracy": {"name": "accuracy",
                                                                                              "value": 0.5}}}]},
        "stats": {"started_at": "2025-01-01T00:00:00+00:00", "completed_at": "2025-01-01T00:01:00+00:00"},
        "samples": samples,
    }


def write_json(path: Path, obj: dict) -> Path:
    path.write_text(json.dumps(obj, indent=2))
    return path


def mmlu_pro_doc(battery, question_id: int) -> dict:
    """The TIGER-Lab/MMLU-Pro row behind a bundled item: question, list of options, answer letter, category."""
    row = battery.loc[battery["instance_id"] == f"mmlu_pro/{question_id}"].iloc[0]
    question, _, block = str(row["prompt"]).rpartition("\n\nA. ")
    options = [line.split(". ", 1)[1] for line in f"A. {block}".split("\n")]
    return {"question_id": question_id, "question": question, "options": options, "answer": row["target"],
            "answer_index": "ABCDEFGHIJ".index(row["target"]), "cot_content": "", "category": row["task"],
            "src": row["source"]}


def lm_eval_mmlu_pro_line(doc: dict, doc_id: int, letter: str) -> dict:
    """One line of lm-eval's `mmlu_pro_<category>` task (5-shot CoT, generate_until, custom-extract filter)."""
    options = "".join(f"{'ABCDEFGHIJ'[i]}. {o}\n" for i, o in enumerate(doc["options"]))
    context = (f"The following are multiple choice questions (with answers) about {doc['category']}. Think step by "
               "step and then finish your answer with \"the answer is (X)\" where X is the correct letter choice.\n"
               f"Question:\nWhat is 1 + 1?\nOptions:\nA. 2\nB. 3\nAnswer: Let's think step by step. 1 + 1 = 2. "
               f"The answer is (A).\n\nQuestion:\n{doc['question']}\nOptions:\n{options}Answer: Let's think step by step.")
    correct = letter == doc["answer"]
    return {
        "doc_id": doc_id, "doc": doc, "target": doc["answer"],
        "arguments": {"gen_args_0": {"arg_0": context, "arg_1": {"until": ["</s>", "Q:", "<|im_end|>"],
                                                                 "max_gen_toks": 2048, "do_sample": False,
                                                                 "temperature": 0.0}}},
        "resps": [[f" The question asks ... so the answer is ({letter})."]], "filtered_resps": [letter],
        "filter": "custom-extract", "metrics": ["exact_match"], "doc_hash": f"d{doc_id}", "prompt_hash": f"p{doc_id}",
        "target_hash": f"t{doc_id}", "exact_match": 1.0 if correct else 0.0,
    }


def inspect_mmlu_pro_sample(doc: dict, letter: str) -> dict:
    """One sample of inspect_evals/mmlu_pro: id = question_id, choice() scorer, subject metadata."""
    sample = inspect_sample(doc["question_id"], doc["question"], doc["answer"], letter,
                            "C" if letter == doc["answer"] else "I", as_messages=True)
    sample["choices"] = doc["options"]
    sample["metadata"] = {"cot_content": doc["cot_content"], "subject": doc["category"].lower()}
    sample["scores"] = {"choice": sample.pop("scores")["match"]}
    return sample


def inspect_bbh_sample(battery, task: str, index: int, answer: str) -> dict:
    """One sample of inspect_evals/bbh: ids `<task>_001` (1-based), dataset_name metadata, match scorer."""
    target = str(battery.loc[battery["instance_id"] == f"bbh/{task}/{index}", "target"].iloc[0])
    question = prompt_of(battery, f"bbh/{task}/{index}")
    sample = inspect_sample(f"{task}_{index + 1:03d}", f"Answer the question.\n\nQUESTION: {question}", target, answer,
                            "C" if answer == target else "I")
    sample["metadata"] = {"dataset_type": "binary_choice", "dataset_name": task}
    return sample
