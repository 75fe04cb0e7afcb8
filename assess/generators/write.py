"""Constrained writing: a short text on an everyday topic under constraints a checker verifies exactly.

A verbal-expression (CEe) item family. The subject writes a few sentences on a plain topic (no
knowledge needed) that must meet every listed constraint; :func:`check` tests each one on the text
and :class:`assess.runs.scorers.WriteScorer` scores the share met (graded ``score``) and whether all
are met (``correct``).

Difficulty by construction: ``sentences`` (the exact number of sentences asked for, 1-6: the target
length) and ``constraints`` (how many constraints in all, 1-6; the first is always the sentence
count, the others are drawn from :data:`KINDS` without repeats). The constraints are the kind a
writer meets in real briefs, kept in plain language rather than puzzles: words to use, a word to
avoid (often the topic's own obvious word, so it must be paraphrased), a first and a last word, a
length in words, a longest-sentence limit, a letter to avoid, sentences opening with given letters,
and register cues (a question to the reader, no contractions, address the reader as "you").

How the checker reads a text: the answer is the output's first paragraph (up to a blank line),
leading and trailing quotes and spaces stripped; a sentence is a run of text ending in ``.``, ``!``
or ``?`` (or the end of the text); curly apostrophes count as straight ones; a word is a run of letters, digits, apostrophes or inner hyphens;
word tests ignore case.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .cells import cell_rows

MIN_SENTENCES, MAX_SENTENCES = 1, 6
MIN_CONSTRAINTS, MAX_CONSTRAINTS = 1, 6
#: (topic, its obvious word, which a ``forbidden_word`` constraint may ban)
TOPICS: tuple[tuple[str, str], ...] = (
    ("a rainy morning at a bus stop", "rain"), ("making breakfast for a friend", "breakfast"),
    ("a walk through a park in autumn", "leaves"), ("losing and finding a set of keys", "keys"),
    ("the first day at a new job", "work"), ("a visit to a small library", "books"),
    ("cooking soup on a cold evening", "soup"), ("a long train journey", "train"),
    ("a cat that sleeps in the sun", "cat"), ("a birthday party in a garden", "party"),
    ("learning to ride a bicycle", "bike"), ("a quiet afternoon at the beach", "sea"),
    ("a busy market on a Saturday", "market"), ("moving into a new flat", "home"),
    ("a power cut during a storm", "dark"), ("planting tomatoes in spring", "garden"),
    ("waiting for a delayed flight", "airport"), ("a neighbour's noisy dog", "dog"),
    ("a snowy walk to school", "snow"), ("fixing a leaking tap", "water"),
    ("a picnic that was ruined by wasps", "food"), ("a lost letter that arrived years late", "post"),
    ("an old photograph found in a drawer", "photo"), ("a night spent camping in a forest", "trees"),
)
#: Words a ``required_words`` constraint may ask for (plain, topic-neutral).
WORDS: tuple[str, ...] = ("lantern", "quietly", "yellow", "promise", "window", "suddenly", "careful", "blanket",
                          "whisper", "ordinary", "bright", "pocket", "minute", "gentle", "corner", "strange",
                          "tired", "silver", "forgotten", "laugh")
OPENERS: tuple[str, ...] = ("Yesterday", "Sometimes", "Honestly", "Everyone", "Before", "Nobody", "Today", "Once")
CLOSERS: tuple[str, ...] = ("again", "tomorrow", "home", "together", "forever", "outside", "slowly", "there")
#: Letters a ``forbidden_letter`` constraint may ban: common enough to need care, rare enough to write without.
AVOIDABLE: tuple[str, ...] = ("b", "f", "g", "k", "p", "v", "w", "y")
INITIALS: str = "ABCDEFGHILMNOPRSTW"
#: Constraint kinds drawn after the sentence count, each at most once per item.
KINDS: tuple[str, ...] = ("required_words", "forbidden_word", "first_word", "last_word", "word_range",
                          "max_sentence_words", "forbidden_letter", "sentence_initials", "question",
                          "no_contractions", "address_reader")
#: Kinds that cannot share an item (the first word is also the first sentence's initial).
_CLASHES = {frozenset({"first_word", "sentence_initials"})}
MAX_TRIES = 200

_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+|$)")
_WORD = re.compile(r"[A-Za-z0-9']+(?:-[A-Za-z0-9']+)*")
#: n't, 're, 've, 'll, 'd, 'm anywhere; 's only after the words it contracts ("it's", not the possessive "Sam's").
_CONTRACTION = re.compile(r"\b\w+n't\b|\b\w+'(?:re|ve|ll|d|m)\b|\b(?:it|that|there|here|what|who|where|he|she|"
                          r"let|how|everyone|nobody)'s\b", re.IGNORECASE)


@dataclass(frozen=True)
class Task:
    """A writing task: the topic and its constraints, each a JSON-ready dict with a ``kind`` key."""

    topic: str
    constraints: tuple[dict, ...]

    @property
    def sentences(self) -> int:
        return int(self.constraints[0]["n"])


# --- reading a text --------------------------------------------------------------------------------

def answer_text(output: str) -> str:
    """The answer part of an output: its first paragraph, stripped of spaces and surrounding quotes."""
    text = output.replace("\u2019", "'").strip()
    text = re.split(r"\n\s*\n", text, maxsplit=1)[0]
    return text.strip().strip("\"'“”").strip()


def sentences_of(text: str) -> list[str]:
    """The sentences of a text (runs ending in . ! ? or at the end), stripped; empty ones dropped."""
    return [s.strip() for s in _SENTENCE.findall(text) if _WORD.search(s)]


def words_of(text: str) -> list[str]:
    """The words of a text, in order (letters, digits, apostrophes, inner hyphens)."""
    return _WORD.findall(text)


def check_one(constraint: dict, text: str) -> bool:
    """Whether ``text`` (already :func:`answer_text`) meets one constraint."""
    kind = constraint["kind"]
    sentences = sentences_of(text)
    words = [w.lower() for w in words_of(text)]
    if kind == "sentences":
        return len(sentences) == constraint["n"]
    if kind == "required_words":
        return all(w in words for w in constraint["words"])
    if kind == "forbidden_word":
        return constraint["word"] not in words
    if kind == "first_word":
        return bool(words) and words[0] == constraint["word"].lower()
    if kind == "last_word":
        return bool(words) and words[-1] == constraint["word"].lower()
    if kind == "word_range":
        return constraint["low"] <= len(words) <= constraint["high"]
    if kind == "max_sentence_words":
        return bool(sentences) and all(len(words_of(s)) <= constraint["n"] for s in sentences)
    if kind == "forbidden_letter":
        return constraint["letter"] not in text.lower()
    if kind == "sentence_initials":
        firsts = [words_of(s)[0][0].upper() for s in sentences]
        return firsts == list(constraint["letters"])
    if kind == "question":
        return any(s.endswith("?") for s in sentences)
    if kind == "no_contractions":
        return bool(words) and not _CONTRACTION.search(text)
    if kind == "address_reader":
        return "you" in words
    raise InputError(f"unknown constraint kind {kind!r}")


def check(constraints: Sequence[dict], output: str) -> list[bool]:
    """Whether the answer in a model's ``output`` meets each constraint, in order."""
    text = answer_text(output)
    return [check_one(c, text) for c in constraints]


# --- making tasks ----------------------------------------------------------------------------------

def _draw(kind: str, rng: np.random.Generator, sentences: int, topic_word: str) -> dict:
    """Parameters for one constraint of ``kind`` in a task asking for ``sentences`` sentences."""
    if kind == "required_words":
        count = 1 if sentences == 1 else 2
        return {"kind": kind, "words": sorted(str(w) for w in rng.choice(np.array(WORDS), size=count, replace=False))}
    if kind == "forbidden_word":
        return {"kind": kind, "word": topic_word}
    if kind == "first_word":
        return {"kind": kind, "word": str(rng.choice(np.array(OPENERS)))}
    if kind == "last_word":
        return {"kind": kind, "word": str(rng.choice(np.array(CLOSERS)))}
    if kind == "word_range":
        low = 6 * sentences + int(rng.integers(0, 3 * sentences + 1))
        return {"kind": kind, "low": low, "high": low + 4 + 2 * sentences}
    if kind == "max_sentence_words":
        return {"kind": kind, "n": int(rng.integers(10, 17))}
    if kind == "forbidden_letter":
        return {"kind": kind, "letter": str(rng.choice(np.array(AVOIDABLE)))}
    if kind == "sentence_initials":
        return {"kind": kind, "letters": "".join(rng.choice(np.array(list(INITIALS)), size=sentences))}
    return {"kind": kind}


def compatible(constraints: Sequence[dict]) -> bool:
    """No two constraints contradict: a banned letter in a required word, a too-tight length, a clash of kinds."""
    kinds = {c["kind"] for c in constraints}
    if any(pair <= kinds for pair in _CLASHES):
        return False
    by_kind = {c["kind"]: c for c in constraints}
    letter = by_kind.get("forbidden_letter", {}).get("letter")
    if letter:
        needed = [*by_kind.get("required_words", {}).get("words", []), by_kind.get("first_word", {}).get("word", ""),
                  by_kind.get("last_word", {}).get("word", ""), by_kind.get("sentence_initials", {}).get("letters", "")]
        if any(letter in w.lower() for w in needed):
            return False
    if "word_range" in by_kind and "max_sentence_words" in by_kind:
        n = by_kind["sentences"]["n"]
        if by_kind["word_range"]["low"] > n * by_kind["max_sentence_words"]["n"]:
            return False
    if "forbidden_word" in by_kind:
        others = [*by_kind.get("required_words", {}).get("words", []), by_kind.get("first_word", {}).get("word", ""),
                  by_kind.get("last_word", {}).get("word", "")]
        if by_kind["forbidden_word"]["word"] in [w.lower() for w in others]:
            return False
    return True


def generate(rng: np.random.Generator, constraints: int, sentences: int) -> Task:
    """A task asking for ``sentences`` sentences under ``constraints`` constraints in all (the count included)."""
    if not MIN_SENTENCES <= sentences <= MAX_SENTENCES:
        raise InputError(f"--sentences {sentences}: tasks ask for {MIN_SENTENCES} to {MAX_SENTENCES} sentences")
    if not MIN_CONSTRAINTS <= constraints <= MAX_CONSTRAINTS:
        raise InputError(f"--constraints {constraints}: tasks have {MIN_CONSTRAINTS} to {MAX_CONSTRAINTS} "
                         "constraints (the sentence count included)")
    topic, topic_word = TOPICS[int(rng.integers(len(TOPICS)))]
    for _ in range(MAX_TRIES):
        kinds = [str(k) for k in rng.choice(np.array(KINDS), size=constraints - 1, replace=False)]
        drawn = [{"kind": "sentences", "n": sentences}] + [_draw(k, rng, sentences, topic_word) for k in kinds]
        if compatible(drawn):
            return Task(topic, tuple(drawn))
    raise InputError(f"no compatible set of {constraints} constraints after {MAX_TRIES} draws")


def constraint_text(constraint: dict) -> str:
    """One constraint as the subject reads it."""
    kind = constraint["kind"]
    if kind == "sentences":
        n = constraint["n"]
        return "Write exactly one sentence." if n == 1 else f"Write exactly {n} sentences."
    if kind == "required_words":
        listed = " and ".join(f'"{w}"' for w in constraint["words"])
        return f"Use the word{'s' if len(constraint['words']) > 1 else ''} {listed}."
    if kind == "forbidden_word":
        return f'Do not use the word "{constraint["word"]}".'
    if kind == "first_word":
        return f'Begin with the word "{constraint["word"]}".'
    if kind == "last_word":
        return f'End with the word "{constraint["word"]}".'
    if kind == "word_range":
        return f"Use between {constraint['low']} and {constraint['high']} words in total."
    if kind == "max_sentence_words":
        return f"Keep every sentence to at most {constraint['n']} words."
    if kind == "forbidden_letter":
        return f'Do not use the letter "{constraint["letter"]}" anywhere.'
    if kind == "sentence_initials":
        letters = constraint["letters"]
        if len(letters) == 1:
            return f'Start your sentence with a word beginning with "{letters}".'
        return f"Start the sentences, in order, with words beginning with {', '.join(letters)}."
    if kind == "question":
        return "Include a question to the reader."
    if kind == "no_contractions":
        return "Write formally: no contractions (such as don't or it's)."
    if kind == "address_reader":
        return 'Speak to the reader directly, using the word "you".'
    raise InputError(f"unknown constraint kind {kind!r}")


def prompt_text(task: Task) -> str:
    """The task as a subject reads it."""
    rules = "\n".join(f"{i}. {constraint_text(c)}" for i, c in enumerate(task.constraints, start=1))
    return (f"Write a short text about {task.topic}. It must follow every one of these rules:\n{rules}\n"
            "Write the text only, as one paragraph.")


def battery_row(task: Task, instance_id: str) -> dict:
    """One battery row; the target is the JSON list of constraints the scorer checks."""
    return {"instance_id": instance_id, "benchmark": "constrained_writing",
            "task": f"{len(task.constraints)}_constraints", "prompt": prompt_text(task),
            "target": json.dumps(list(task.constraints)), "answer_format": "free_text",
            "constraints": len(task.constraints), "sentences": task.sentences}


def battery(constraints: Sequence[int], sentences: Sequence[int], n: int, seed: int) -> list[dict]:
    """``n`` tasks per (constraints, sentences) cell, each cell from a generator seeded by (seed, both)."""
    return cell_rows(constraints, sentences, n, seed,
                     lambda rng, k, s, i: battery_row(generate(rng, k, s), f"write/c{k}-s{s}/{i:04d}"))
