"""bench-headroom's worked examples: balanced over the labels, and shown to the task model as conversation turns
the way the loop shows its own."""

from benchmarks.binary_headroom import COT, COT_LETTER, SETS, balanced_shots, conditions, markdown, tasks, with_shots
from promptlearn.data import Example
from promptlearn.rollouts import task_messages


def test_shots_alternate_labels_and_reach_the_model_as_turns() -> None:
    train = [Example(f"e{i}", f"question {i}", "No" if i < 6 else "Yes") for i in range(9)]
    shots = balanced_shots(train, n=4)
    assert [e.target for e in shots] == ["No", "Yes", "No", "Yes"]
    messages = task_messages(with_shots("Answer the question.", shots), Example("q", "new question", "Yes"))
    assert messages[0] == {"role": "system", "content": "Answer the question."}
    assert [m["content"] for m in messages[1:-1]] == ["question 0", "No", "question 6", "Yes", "question 1", "No",
                                                      "question 7", "Yes"]
    assert messages[-1] == {"role": "user", "content": "new question"}


def test_table_puts_the_majority_beside_each_accuracy() -> None:
    row = {"task": "bbh:navigate", "condition": "shots", "accuracy": 0.55, "low": 0.4, "high": 0.69,
           "majority_accuracy": 0.55, "answers": {"no": 40}}
    assert "| bbh:navigate | shots | 0.550 [0.40, 0.69] | 0.55 | no 40 |" in markdown([row], 40)


def test_each_set_names_tasks_that_exist_and_lettered_options_get_a_lettered_chain_of_thought() -> None:
    for names in SETS.values():
        assert [t.name for t in tasks(names)] == list(names)
    binary, choice = tasks(SETS["binary"])[0], tasks(SETS["choice"])[0]
    yes_no = [Example("a", "q", "Yes"), Example("b", "q", "No")]
    lettered = [Example("a", "q", "(A)"), Example("b", "q", "(C)")]
    assert conditions(binary, yes_no)["cot"] == (binary.system_prompt + COT[0], COT[1])
    assert conditions(choice, lettered)["cot"] == (choice.system_prompt + COT_LETTER[0], COT_LETTER[1])
    assert conditions(choice, lettered)["seed"] == (choice.system_prompt, choice.models.task_max_tokens)
