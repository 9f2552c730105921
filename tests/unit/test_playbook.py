import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from promptlearn.playbook import (
    DELTA_BATCH_JSON_SCHEMA,
    MAX_DELTAS,
    Bullet,
    Delta,
    DeltaBatch,
    DeltaParseError,
    Playbook,
    cited_bullet_ids,
    dedupe_deltas,
    merge_duplicates,
    near_duplicates,
    parse_delta_batch,
    prune_to_budget,
    token_count,
)


def add(text: str, section: str = "instructions", **kw) -> Delta:
    return Delta(op="add", section=section, text=text, **kw)


def build(*texts_by_section: tuple[str, str], seed: str = "You are a careful assistant.") -> Playbook:
    deltas = [add(text, section) for section, text in texts_by_section]
    return Playbook(seed_prompt=seed).apply(deltas).playbook


# --- apply -------------------------------------------------------------------------------------------------


def test_add_assigns_fresh_ids_and_ignores_delta_ids():
    pb = Playbook(seed_prompt="s")
    result = pb.apply([add("Be brief.", bullet_id="ins-00099"), add("Avoid guessing.", "pitfalls")], version=3)
    new = result.playbook
    assert [b.id for b in new.bullets] == ["ins-00001", "pit-00002"]
    assert new.next_id == 3
    assert all(b.created_version == 3 for b in new.bullets)
    assert [o.applied for o in result.outcomes] == [True, True]
    assert pb.bullets == ()  # the original is untouched
    assert pb.next_id == 1


def test_add_to_unknown_section_appends_it():
    new = Playbook(seed_prompt="s").apply([add("Check units.", "Edge cases")]).playbook
    assert new.sections[-1] == "edge_cases"
    assert new.bullets[0].id == "edg-00001"
    assert new.bullets[0].section == "edge_cases"


def test_update_replaces_text_keeps_id_counters_and_merges_provenance():
    pb = Playbook(seed_prompt="s").apply([add("Be brief.", evidence=["r1"])]).playbook
    pb = pb.with_counters(helpful={"ins-00001": 2})
    result = pb.apply([Delta(op="update", bullet_id="ins-00001", text="Be brief; one line.", evidence=["r2", "r1"])])
    bullet = result.playbook.get("ins-00001")
    assert bullet is not None
    assert bullet.text == "Be brief; one line."
    assert bullet.helpful == 2
    assert bullet.source == ["r1", "r2"]
    assert result.outcomes[0].applied


def test_remove_and_unknown_ids_are_reported_not_raised():
    pb = build(("instructions", "Be brief."), ("pitfalls", "Do not guess."))
    result = pb.apply(
        [
            Delta(op="remove", bullet_id="ins-00001"),
            Delta(op="remove", bullet_id="ins-00001"),
            Delta(op="update", bullet_id="ins-00777", text="x"),
        ]
    )
    assert [b.id for b in result.playbook.bullets] == ["pit-00002"]
    assert [o.applied for o in result.outcomes] == [True, False, False]
    assert "ins-00001" in result.outcomes[1].reason
    assert "ins-00777" in result.outcomes[2].reason
    assert len(result.rejected) == 2


def test_update_with_same_text_is_not_applied():
    pb = build(("instructions", "Be brief."))
    result = pb.apply([Delta(op="update", bullet_id="ins-00001", text="Be   brief.")])
    assert not result.outcomes[0].applied


def test_ids_stay_unique_and_are_never_reused_across_applies():
    pb = build(("instructions", "a"), ("instructions", "b"))
    pb = pb.apply([Delta(op="remove", bullet_id="ins-00002")]).playbook
    pb = pb.apply([add("c"), add("d", "strategies")]).playbook
    ids = [b.id for b in pb.bullets]
    assert ids == ["ins-00001", "ins-00003", "str-00004"]
    assert len(set(ids)) == len(ids)


def test_playbook_rejects_duplicate_ids_and_unknown_sections():
    bullet = Bullet(id="ins-00001", section="instructions", text="a")
    with pytest.raises(ValidationError):
        Playbook(seed_prompt="s", bullets=(bullet, bullet))
    with pytest.raises(ValidationError):
        Playbook(seed_prompt="s", bullets=(Bullet(id="zzz-00001", section="zzz", text="a"),))
    with pytest.raises(ValidationError):
        Bullet(id="ins-12", section="instructions", text="a")


def test_hand_built_playbook_starts_counter_after_highest_id():
    pb = Playbook(seed_prompt="s", bullets=(Bullet(id="ins-00041", section="instructions", text="a"),))
    assert pb.next_id == 42
    assert pb.apply([add("b")]).playbook.bullets[-1].id == "ins-00042"


def test_with_counters_adds_and_ignores_unknown_ids():
    pb = build(("instructions", "a"), ("pitfalls", "b"))
    pb = pb.with_counters(helpful={"ins-00001": 2, "nope-1": 5}, harmful={"pit-00002": 1})
    pb = pb.with_counters(helpful={"ins-00001": 1})
    assert (pb.bullets[0].helpful, pb.bullets[0].harmful) == (3, 0)
    assert (pb.bullets[1].helpful, pb.bullets[1].harmful) == (0, 1)


# --- render ------------------------------------------------------------------------------------------------


def test_render_snapshot():
    pb = build(
        ("pitfalls", "Never invent citations."),
        ("instructions", "Answer in one sentence."),
        ("instructions", "Show the\n  final answer   last."),
    )
    expected = (
        "You are a careful assistant.\n"
        "\n"
        "## Playbook\n"
        "\n"
        "### Instructions\n"
        "- [ins-00002] Answer in one sentence.\n"
        "- [ins-00003] Show the final answer last.\n"
        "\n"
        "### Pitfalls\n"
        "- [pit-00001] Never invent citations."
    )
    assert pb.render() == expected
    assert pb.render() == pb.from_json(pb.to_json()).render()


def test_render_without_bullets_is_the_seed_prompt():
    assert Playbook(seed_prompt="Just this.\n").render() == "Just this."


def test_token_count_is_chars_over_four_rounded_up():
    assert token_count("") == 0
    assert token_count("abcd") == 1
    assert token_count("abcde") == 2


def test_cited_bullet_ids():
    answer = "Per [ins-00012] and [pit-00003, INS-00012], the answer is 4 [1] [see ins-00004]. ins-00009"
    assert cited_bullet_ids(answer) == ["ins-00012", "pit-00003", "ins-00004"]
    assert cited_bullet_ids("no citations [here]") == []


# --- json round trip ---------------------------------------------------------------------------------------

_texts = st.text(min_size=1, max_size=60).filter(lambda t: t.strip())
_sections = st.sampled_from(["instructions", "strategies", "pitfalls", "formatting", "edge cases"])


@st.composite
def playbooks(draw) -> Playbook:
    pb = Playbook(seed_prompt=draw(st.text(max_size=80)))
    deltas = draw(st.lists(st.builds(add, _texts, _sections, evidence=st.lists(st.text(max_size=8))), max_size=8))
    pb = pb.apply(deltas, version=draw(st.integers(0, 5))).playbook
    ids = [b.id for b in pb.bullets]
    # Removing the newest bullets makes next_id run ahead of the ids, so the counter itself must round-trip.
    removals = draw(st.lists(st.sampled_from(ids), unique=True)) if ids else []
    pb = pb.apply([Delta(op="remove", bullet_id=i) for i in removals]).playbook
    ids = [b.id for b in pb.bullets]
    counts = st.dictionaries(st.sampled_from(ids), st.integers(0, 9)) if ids else st.just({})
    return pb.with_counters(draw(counts), draw(counts))


@given(playbooks())
def test_json_round_trip_is_exact(pb: Playbook):
    again = Playbook.from_json(pb.to_json())
    assert again == pb
    assert again.content_hash() == pb.content_hash()
    assert again.render() == pb.render()


def test_content_hash_changes_with_content():
    pb = build(("instructions", "a"))
    assert pb.content_hash() != pb.with_counters(helpful={"ins-00001": 1}).content_hash()
    assert pb.content_hash() != pb.apply([add("b")]).playbook.content_hash()


# --- curation ----------------------------------------------------------------------------------------------


def test_near_duplicates_and_merge_keep_the_older_bullet():
    pb = build(
        ("instructions", "Always state the final answer on the last line."),
        ("instructions", "Cite the source document for every claim."),
        ("pitfalls", "always state the final answer on the LAST line!"),
    )
    pb = pb.with_counters(helpful={"ins-00001": 1, "pit-00003": 2}, harmful={"pit-00003": 1})
    pb = pb.apply([Delta(op="update", bullet_id="pit-00003", text=pb.bullets[2].text, evidence=["r9"])]).playbook
    assert near_duplicates(pb) == [("ins-00001", "pit-00003")]
    merged, removed = merge_duplicates(pb)
    assert removed == ["pit-00003"]
    assert [b.id for b in merged.bullets] == ["ins-00001", "ins-00002"]
    keeper = merged.get("ins-00001")
    assert keeper is not None
    assert (keeper.helpful, keeper.harmful) == (3, 1)


def test_merge_unions_provenance():
    pb = Playbook(seed_prompt="s").apply(
        [add("Use metric units.", evidence=["r1", "r2"]), add("Use metric units", evidence=["r2", "r3"])]
    )
    merged, removed = merge_duplicates(pb.playbook)
    assert removed == ["ins-00002"]
    assert merged.bullets[0].source == ["r1", "r2", "r3"]


def test_merge_keeps_distinct_bullets():
    pb = build(("instructions", "Be brief."), ("instructions", "Show your work step by step."))
    merged, removed = merge_duplicates(pb)
    assert removed == []
    assert merged == pb


def test_prune_removes_lowest_credit_until_under_budget():
    pb = build(*[("instructions", f"Rule number {i} about something specific.") for i in range(1, 6)])
    pb = pb.with_counters(helpful={"ins-00001": 5, "ins-00002": 1, "ins-00004": 3}, harmful={"ins-00005": 2})
    # Credits: 1->5, 2->1, 3->0, 4->3, 5->-2. Removal order: 5, 3, 2, 4, 1.
    budget = pb.without(["ins-00005", "ins-00003"]).bullet_tokens()
    pruned, removed = prune_to_budget(pb, budget)
    assert removed == ["ins-00005", "ins-00003"]
    assert pruned.bullet_tokens() <= budget
    assert [b.id for b in pruned.bullets] == ["ins-00001", "ins-00002", "ins-00004"]


def test_prune_ties_drop_the_newest_and_explicit_credit_wins():
    pb = build(("instructions", "alpha rule"), ("instructions", "beta rule"), ("instructions", "gamma rule"))
    _, removed = prune_to_budget(pb, pb.without(["ins-00003"]).bullet_tokens())
    assert removed == ["ins-00003"]
    _, removed = prune_to_budget(pb, pb.without(["ins-00001"]).bullet_tokens(), credit={"ins-00002": 1, "ins-00003": 2})
    assert removed == ["ins-00001"]


def test_prune_within_budget_is_a_no_op_and_zero_budget_empties():
    pb = build(("instructions", "a"), ("pitfalls", "b"))
    assert prune_to_budget(pb, 10_000) == (pb, [])
    emptied, removed = prune_to_budget(pb, 0)
    assert emptied.bullets == () and len(removed) == 2
    assert emptied.render() == pb.seed_prompt


def test_dedupe_deltas_against_playbook_and_batch():
    pb = build(("instructions", "Always state the final answer on the last line."))
    deltas = [
        add("always state the final answer on the last line"),
        add("Check the units of every quantity."),
        add("Check the units of every quantity!"),
        Delta(op="remove", bullet_id="ins-00001"),
        add("Prefer short answers."),
    ]
    kept, dropped = dedupe_deltas(pb, deltas)
    assert [d.text for d in kept if d.op == "add"] == ["Check the units of every quantity.", "Prefer short answers."]
    assert [d.op for d in kept] == ["add", "remove", "add"]
    assert [reason for _, reason in dropped] == [
        "near-duplicate of ins-00001",
        "near-duplicate of delta #2 in this batch",
    ]


# --- deltas ------------------------------------------------------------------------------------------------


def test_delta_validation():
    assert Delta(op="add", text="a\n\n  b").text == "a b"
    assert Delta(op="add", text="x", bullet_id=" ").bullet_id is None
    assert Delta(op="add", section="Edge-Cases", text="x").section == "edge_cases"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"op": "add"},
        {"op": "add", "text": "   "},
        {"op": "add", "text": "x" * 401},
        {"op": "update", "text": "x"},
        {"op": "update", "bullet_id": "ins-00001"},
        {"op": "remove", "bullet_id": ""},
        {"op": "merge", "text": "x"},
        {"op": "add", "text": "x", "confidence": 0.9},
    ],
)
def test_invalid_deltas_raise(kwargs):
    with pytest.raises(ValidationError):
        Delta(**kwargs)


def test_batch_is_capped():
    with pytest.raises(ValidationError):
        DeltaBatch(deltas=[add(str(i)) for i in range(MAX_DELTAS + 1)])


def test_schema_matches_the_delta_model():
    item = DELTA_BATCH_JSON_SCHEMA["properties"]["deltas"]["items"]
    assert set(item["properties"]) == set(Delta.model_fields)
    assert item["properties"]["op"]["enum"] == ["add", "update", "remove"]
    assert set(item["required"]) == {"op", "text", "reason"}
    json.dumps(DELTA_BATCH_JSON_SCHEMA)  # plain data, serializable as-is


def test_parse_fenced_json_with_prose_and_empty_id():
    raw = (
        "Here are my edits [draft]:\n```json\n"
        '{"deltas": [{"op": "add", "section": "pitfalls", "bullet_id": "", "text": "Check units.", "reason": "r"},'
        ' {"op": "update", "bullet_id": "[ins-00002]", "text": "Be brief.", "reason": "r", "evidence": ["ro-1"]}]}'
        "\n```\nDone."
    )
    batch = parse_delta_batch(raw)
    assert [d.op for d in batch.deltas] == ["add", "update"]
    assert batch.deltas[0].bullet_id is None
    assert batch.deltas[1].bullet_id == "ins-00002"
    assert batch.deltas[1].evidence == ["ro-1"]


def test_parse_bare_list_and_single_object():
    batch = parse_delta_batch('Sure: [{"op": "remove", "bullet_id": "ins-00001", "text": "", "reason": "harmful"}]')
    assert batch.deltas[0].op == "remove"
    assert parse_delta_batch('{"op": "add", "text": "x", "reason": "y"}').deltas[0].text == "x"


@pytest.mark.parametrize(
    "raw",
    [
        "I could not think of any edits.",
        "```json\n{not json}\n```",
        '{"edits": []}',
        '{"deltas": [{"op": "rewrite", "text": "x", "reason": "y"}]}',
        '[{"op": "update", "text": "x", "reason": "no id"}]',
    ],
)
def test_parse_failures_raise_delta_parse_error(raw):
    with pytest.raises(DeltaParseError):
        parse_delta_batch(raw)


def test_parse_error_names_the_field():
    with pytest.raises(DeltaParseError, match="op"):
        parse_delta_batch('{"deltas": [{"op": "rewrite", "text": "x", "reason": "y"}]}')


def test_an_update_without_a_bullet_id_is_kept_as_an_add() -> None:
    from promptlearn.playbook.deltas import parse_deltas_lenient

    raw = '{"deltas": [{"op": "update", "bullet_id": "", "text": "Answer with one letter.", "reason": "format"},' \
          ' {"op": "remove", "bullet_id": "", "text": "", "reason": "x"}]}'
    valid, errors = parse_deltas_lenient(raw)
    assert [(d.op, d.text) for d in valid] == [("add", "Answer with one letter.")]
    assert "without a bullet id" in valid[0].reason and len(errors) == 1
