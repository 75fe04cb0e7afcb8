"""Parser rules, annotator-config errors, backoff arithmetic, prompt determinism and the store."""
from __future__ import annotations

import random

import pytest

from annotate_fixtures import write_annotator
from assess.annotate import AnnotationStore, StoredAnswer, load_annotator, parse_level, parse_levels
from assess.annotate.parse import ParseError
from assess.annotate.prompts import all_scales_messages, all_scales_template, messages_hash, per_scale_messages, \
    per_scale_template
from assess.backends import RetryPolicy
from assess.backends.retry import backoff_delay, parse_retry_after
from assess.errors import InputError

#: Kinds of the scales these tests parse (the bundled rubrics': UG is a percentage).
KINDS = {"UG": "percentage"}
from assess.rubrics import load_rubrics


@pytest.mark.parametrize(("text", "code", "level"), [
    ("It needs two steps.\nLevel: 3", "QLq", 3.0),
    ("**Level:** 4", "QLq", 4.0),
    ("Level 2 would fit, but on reflection\nLevel: 1", "QLq", 1.0),
    ("level = 0", "QLl", 0.0),
    ("Reasoning.\n\n**Level: 2**.\n\n", "QLq", 2.0),
    ("Level: 85%", "UG", 85.0),
    ("Level: 97.5", "UG", 97.5),
    ("Level: 3.0", "QLq", 3.0),
])
def test_level_extraction_rules(text, code, level):
    assert parse_level(text, code, KINDS.get(code, "level")) == level


@pytest.mark.parametrize(("text", "code", "message"), [
    ("Level: 6", "QLq", "QLq: level 6 is outside 0-5"),
    ("Level: 2.5", "QLq", "QLq: 2.5 is not a whole level"),
    ("Level: 120", "UG", "UG: 120 is outside 0-100"),
    ("I am not sure.", "QLq", "no `Level: N` line"),
    ("", "QLq", "no `Level: N` line"),
    # a level only counts from the final line in the requested form
    ('{"reasoning": "x", "level": 5}', "QLq", "no `Level: N` line"),
    ("Mostly arithmetic, 3 operations.\n4", "QLq", "no `Level: N` line"),
    ("Level: 3\nI hope this helps.", "QLq", "no `Level: N` line"),
    ("Level: 3 or maybe 4", "QLq", "no `Level: N` line"),
    ("The syllables per line are 5, 7 and 5, so the median is 5", "QLq", "no `Level: N` line"),
])
def test_unusable_answers_raise_with_the_reason(text, code, message):
    with pytest.raises(ParseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_level(text, code, KINDS.get(code, "level"))


def test_all_scales_json_takes_the_last_complete_object():
    text = 'Example {"levels": {"QLq": 9}}. Answer:\n```json\n{"reasoning": "r", "levels": {"QLq": 1, "UG": "40%"}}\n```'
    kinds = {"QLq": "level", "UG": "percentage"}
    assert parse_levels(text, ["QLq", "UG"], kinds) == {"QLq": 1.0, "UG": 40.0}
    assert parse_levels('{"QLq": 2, "UG": 10}', ["QLq", "UG"], kinds) == {"QLq": 2.0, "UG": 10.0}
    with pytest.raises(ParseError, match="lacks level\\(s\\) for UG"):
        parse_levels('{"levels": {"QLq": 1}}', ["QLq", "UG"], kinds)
    with pytest.raises(ParseError, match="no JSON object"):
        parse_levels("Level: 3", ["QLq"], kinds)
    with pytest.raises(ParseError, match="QLq: level 40 is outside 0-5"):
        parse_levels('{"QLq": 40}', ["QLq"], {"QLq": "level"})
    assert parse_levels('{"QLq": 40}', ["QLq"], {"QLq": "percentage"}) == {"QLq": 40.0}  # the kind decides
    with pytest.raises(ParseError, match="text follows the JSON answer"):
        parse_levels('{"levels": {"QLq": 1}}\nBut QLq could also be 3.', ["QLq"], kinds)


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("name: a\nbackend: openai\nmodel: m\n", "line 1: base_url"),
    ("name: a\nbackend: telepathy\nmodel: m\n", "line 2: backend"),
    ("name: a\nbackend: batch-file\nmodel: m\nconcurrency: 0\n", "line 4: concurrency"),
    ("name: a\nbackend: batch-file\nmodel: m\napi_key: sk-123\n", "line 4: api_key: unknown key (allowed: backend"),
    ("name: a\nbackend: batch-file\n", "model: Field required"),
    ("name: a\nbackend: batch-file\nmodel: m\nretry: {max_attempts: zero}\n", "line 4: retry.max_attempts"),
    ("name: [a\n", "invalid YAML"),
    ("- a\n- b\n", "line 1: expected a mapping of keys"),
])
def test_annotator_config_errors_name_file_line_and_key(tmp_path, yaml_text, message):
    path = write_annotator(tmp_path, yaml_text)
    with pytest.raises(InputError) as caught:
        load_annotator(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_backoff_honours_retry_after_and_grows_with_jitter():
    policy = RetryPolicy(initial_delay_s=1.0, max_delay_s=30.0)
    assert backoff_delay(1, policy, retry_after_s=7.0) == 7.0
    assert backoff_delay(1, policy, retry_after_s=500.0) == 30.0
    rng = random.Random(0)
    draws = [backoff_delay(attempt, policy, rng=rng) for attempt in (1, 3, 6, 9) for _ in range(200)]
    assert max(draws[:200]) <= 1.0 and max(draws[200:400]) <= 4.0 and max(draws[600:]) <= 30.0
    assert max(draws[600:]) > 20.0 and len(set(draws)) == len(draws)
    assert parse_retry_after("12") == 12.0 and parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0 and parse_retry_after("soon") is None


def test_prompts_are_deterministic_and_carry_rubric_and_instance():
    rubrics = load_rubrics()
    one = per_scale_messages(rubrics["QLq"], "Prompt:\n2+2?")
    assert one == per_scale_messages(rubrics["QLq"], "Prompt:\n2+2?")
    assert messages_hash(one) != messages_hash(per_scale_messages(rubrics["QLq"], "Prompt:\n2+3?"))
    assert rubrics["QLq"].prompt_text().strip() in one[1]["content"] and one[1]["content"].endswith("0 to 5.")
    both = all_scales_messages([rubrics["QLq"], rubrics["UG"]], "Prompt:\n2+2?")
    assert '"UG": "<a number from 0 to 100 (a percentage)>"' in both[1]["content"]


def test_template_prompt_hash_is_the_hash_of_the_whole_conversation():
    """The incremental hash (fixed prefix hashed once) equals messages_hash, escapes and non-ASCII included."""
    rubrics = load_rubrics()
    texts = ["Prompt:\n2+2?", 'Prompt:\nSay "hi"\tthen \\ n\u00e9e \u2192 \U0001F600\n\nReference answer:\n4',
             "Prompt:\n\u0000\u001f control"]
    for template in (per_scale_template(rubrics["QLq"]), all_scales_template([rubrics[c] for c in ("QLq", "UG")])):
        for text in texts:
            assert template.prompt_hash(text) == messages_hash(template.messages(text))


def test_store_commits_and_reads_back(tmp_path):
    answer = StoredAnswer(key="k", instance_id="i", instance_hash="h", scales=("QLq", "UG"), mode="all-scales",
                          annotator="a|m", rubric_hash="r", prompt_hash="p", status="ok",
                          levels={"QLq": 2.0, "UG": 55.0}, error=None, transcript=[{"text": "t", "problem": None}],
                          prompt_tokens=5, completion_tokens=2)
    with AnnotationStore(tmp_path / "s.sqlite") as store:
        store.put(answer)
        store.record_run("a", "all-scales", {"requests": 1})
    with AnnotationStore(tmp_path / "s.sqlite") as store:
        assert store.get(["k", "missing"]) == {"k": answer}
        assert store.runs()[0]["requests"] == 1
    (tmp_path / "bad.sqlite").write_text("not a database at all, just text" * 20)
    with pytest.raises(InputError, match="not a usable annotation cache"):
        AnnotationStore(tmp_path / "bad.sqlite")
