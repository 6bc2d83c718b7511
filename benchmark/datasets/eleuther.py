"""The EleutherAI/w2s dataset set, formatted as its ``w2s/ds_registry.py`` does.

Classes are undersampled to 50/50 (as there). Multiple-choice sources become binary the same
way throughout: with probability 1/2 show the correct answer (label 1), else a random wrong one.
One deliberate difference: their ``openbookqa`` shows the answer *letter* when correct and a
distractor's *text* when wrong, so the answer's length gives the label away; we show the text
in both cases.
"""

from __future__ import annotations

import random

from benchmark.datasets.hub import HubDataset, Row, register_hub

ORIGIN = "EleutherAI/w2s w2s/ds_registry.py"
VALIDATION_TEST = {"train": "train", "test": "validation"}


def _pick(rng: random.Random, correct: str, wrong: list[str]) -> tuple[str, int]:
    label = int(rng.random() < 0.5)
    return (correct if label else rng.choice(wrong)), label


def format_anli(row: Row, rng: random.Random) -> tuple[str, int]:
    return (f"Premise: {row['premise']}\nHypothesis: {row['hypothesis']}\n\n"
            "Does the premise entail the hypothesis?"), int(row["label"] == 0)


def format_sentence(row: Row, rng: random.Random) -> tuple[str, int]:
    """cola, sst2: the sentence itself."""
    return row["sentence"], int(row["label"])


def format_text(row: Row, rng: random.Random) -> tuple[str, int]:
    return row["text"], int(row["label"])


def format_dream(row: Row, rng: random.Random) -> tuple[str, int]:
    answer, label = _pick(rng, row["answer"], [c for c in row["choice"] if c != row["answer"]])
    dialogue = "\n".join(row["dialogue"])
    return f"{dialogue}\n\nQ: {row['question']} A: {answer}", label


def format_ethics_deontology(row: Row, rng: random.Random) -> tuple[str, int]:
    return (f"Q: Is the following a morally valid excuse?\n\n{row['scenario']}\n\n"
            f"{row['excuse']}\n\nA:"), int(row["label"])


def format_ethics_justice(row: Row, rng: random.Random) -> tuple[str, int]:
    return (f"Q: Does this statement exemplify justice?\n\n{row['scenario']}\n\nA:",
            int(row["label"]))


def format_ethics_virtue(row: Row, rng: random.Random) -> tuple[str, int]:
    return (f"Q: Does this behavior match the adjective that follows?\n\n{row['scenario']}"
            "\n\nA:", int(row["label"]))


def format_ethics_utilitarianism(row: Row, rng: random.Random) -> tuple[str, int]:
    label = int(rng.random() < 0.5)
    choices = [row["baseline"], row["less_pleasant"]]
    rng.shuffle(choices)
    correct = choices.index(row["baseline"])
    response = correct if label else 1 - correct
    return (f"Which is more pleasant?\n1) {choices[0]}\n2) {choices[1]} A: {response + 1}",
            label)


def format_mc_taco(row: Row, rng: random.Random) -> tuple[str, int]:
    return (f"{row['sentence']}\n\nGiven the above, {row['question']} Is the answer "
            f"{row['answer']}?"), int(row["label"])


def format_hellaswag(row: Row, rng: random.Random) -> tuple[str, int]:
    gold = int(row["label"])
    endings = row["endings"]
    answer, label = _pick(rng, endings[gold], [e for i, e in enumerate(endings) if i != gold])
    listed = "\n".join(endings)
    return (f"Context:\n{row['ctx']}\n\nContinuations:\n\n{listed}\n\nQ: Is \"{answer}\" the "
            "best continuation?"), label


def format_multirc(row: Row, rng: random.Random) -> tuple[str, int]:
    return (f"Passage:\n\n{row['paragraph']}\n\nQ: \"{row['question']}\" Is the answer "
            f"\"{row['answer']}\"?"), int(row["label"])


def format_openbookqa(row: Row, rng: random.Random) -> tuple[str, int]:
    letters, texts = row["choices"]["label"], row["choices"]["text"]
    gold = letters.index(row["answerKey"])
    answer, label = _pick(rng, texts[gold], [t for i, t in enumerate(texts) if i != gold])
    listed = "\n".join(f"{a}) {t}" for a, t in zip(letters, texts, strict=True))
    return f"Q: {row['question_stem']}\n\nChoices:\n{listed}\n\nAnswer: {answer}", label


def format_paws(row: Row, rng: random.Random) -> tuple[str, int]:
    return (f"Sent 1: {row['sentence1']}\nSent 2: {row['sentence2']}\n\nQ: Are these "
            "sentences semantically equivalent?"), int(row["label"])


def format_piqa(row: Row, rng: random.Random) -> tuple[str, int]:
    label = int(rng.random() < 0.5)
    right, wrong = (row["sol2"], row["sol1"]) if row["label"] else (row["sol1"], row["sol2"])
    return f"Q: {row['goal']} A: {right if label else wrong}", label


def format_quail(row: Row, rng: random.Random) -> tuple[str, int]:
    gold = int(row["correct_answer_id"])
    answers = row["answers"]
    answer, label = _pick(rng, answers[gold], [a for i, a in enumerate(answers) if i != gold])
    return (f"Passage:\n\n{row['context']}\n\nQ: \"{row['question']}\" Is the answer "
            f"\"{answer}\"?"), label


def format_quartz(row: Row, rng: random.Random) -> tuple[str, int]:
    label = int(rng.random() < 0.5)
    gold = row["choices"]["label"].index(row["answerKey"])
    answer = row["choices"]["text"][gold if label else 1 - gold]
    return (f"Passage:\n{row['para']}\n\nQ: \"{row['question']}\" Is the answer "
            f"\"{answer}\"?"), label


def format_social_i_qa(row: Row, rng: random.Random) -> tuple[str, int]:
    answers = [row["answerA"], row["answerB"], row["answerC"]]
    gold = int(row["label"]) - 1
    answer, label = _pick(rng, answers[gold], [a for i, a in enumerate(answers) if i != gold])
    return (f"Context:\n{row['context']}\n\nQuestion: \"{row['question']}\"\n\nChoices:\n"
            f"{answers[0]}\n{answers[1]}\n{answers[2]}\n\nIs the answer \"{answer}\"?"), label


def format_wic(row: Row, rng: random.Random) -> tuple[str, int]:
    return (f"Sentence 1:\n{row['sentence1']}\n\nSentence 2:\n{row['sentence2']}\n\nQ: Does "
            f"\"{row['word']}\" have the same meaning in the above sentences?"), int(row["label"])


def format_sciq_with_support(row: Row, rng: random.Random) -> tuple[str, int]:
    answer, label = _pick(rng, row["correct_answer"],
                          [row["distractor1"], row["distractor2"], row["distractor3"]])
    return (f"Name: Bob\n\nPassage 1:\n{row['support']}\n\nQ1: \"{row['question']}\" Is the "
            f"answer \"{answer}\"?"), label


def _add(name: str, hub_id: str, formatter, fields: tuple[str, ...], description: str,
         config: str | None = None, splits: dict[str, str] | None = None,
         labels: tuple[str, str] = ("no", "yes")) -> None:
    register_hub(HubDataset(name, hub_id, formatter, labels, description, ORIGIN, config=config,
                            splits=splits or {"train": "train", "test": "test"},
                            fields=fields))


_add("anli-r2", "facebook/anli", format_anli, ("premise", "hypothesis", "label"),
     "ANLI round 2: does the premise entail the hypothesis?",
     splits={"train": "train_r2", "test": "test_r2"})
_add("cola", "nyu-mll/glue", format_sentence, ("sentence", "label"),
     "CoLA: is the sentence grammatical?", config="cola", splits=VALIDATION_TEST)
_add("dream", "dataset-org/dream", format_dream, ("dialogue", "question", "choice", "answer"),
     "DREAM dialogue + question with the right or a wrong answer")
_add("ethics-deontology", "hendrycks/ethics", format_ethics_deontology,
     ("scenario", "excuse", "label"), "ETHICS deontology: is the excuse valid?",
     config="deontology")
_add("ethics-justice", "hendrycks/ethics", format_ethics_justice, ("scenario", "label"),
     "ETHICS justice: is the statement just?", config="justice")
_add("ethics-virtue", "hendrycks/ethics", format_ethics_virtue, ("scenario", "label"),
     "ETHICS virtue: does the behaviour match the adjective?", config="virtue")
_add("ethics-utilitarianism", "hendrycks/ethics", format_ethics_utilitarianism,
     ("baseline", "less_pleasant"), "ETHICS utilitarianism: which scenario is more pleasant?",
     config="utilitarianism")
_add("mc_taco", "CogComp/mc_taco", format_mc_taco, ("sentence", "question", "answer", "label"),
     "MC-TACO temporal commonsense: is the answer plausible?",
     splits={"train": "test", "test": "validation"})  # as the original: test is the bigger
_add("hellaswag", "Rowan/hellaswag", format_hellaswag, ("ctx", "endings", "label"),
     "HellaSwag: is this the best continuation?", splits=VALIDATION_TEST)
_add("multirc", "aps/super_glue", format_multirc, ("paragraph", "question", "answer", "label"),
     "MultiRC: is the answer to the question about the passage right?", config="multirc",
     splits=VALIDATION_TEST)
_add("openbookqa", "allenai/openbookqa", format_openbookqa,
     ("question_stem", "choices", "answerKey"), "OpenBookQA with the right or a wrong answer",
     config="main")
_add("paws", "google-research-datasets/paws", format_paws, ("sentence1", "sentence2", "label"),
     "PAWS: are the two sentences paraphrases?", config="labeled_final")
_add("piqa", "ybisk/piqa", format_piqa, ("goal", "sol1", "sol2", "label"),
     "PIQA goal with the right or the wrong solution", splits=VALIDATION_TEST)
_add("quail", "textmachinelab/quail", format_quail,
     ("context", "question", "answers", "correct_answer_id"),
     "QuAIL passage + question with the right or a wrong answer", splits=VALIDATION_TEST)
_add("quartz", "allenai/quartz", format_quartz, ("para", "question", "choices", "answerKey"),
     "QuaRTz passage + question with the right or the wrong answer")
_add("social_i_qa", "allenai/social_i_qa", format_social_i_qa,
     ("context", "question", "answerA", "answerB", "answerC", "label"),
     "Social IQa with the right or a wrong answer", splits=VALIDATION_TEST)
_add("sst2", "stanfordnlp/sst2", format_sentence, ("sentence", "label"),
     "SST-2 sentence sentiment", splits=VALIDATION_TEST, labels=("negative", "positive"))
_add("wic", "aps/super_glue", format_wic, ("word", "sentence1", "sentence2", "label"),
     "WiC: same meaning of the word in both sentences?", config="wic", splits=VALIDATION_TEST)
_add("twitter-sentiment", "EleutherAI/twitter-sentiment", format_text, ("text", "label"),
     "Tweet sentiment", labels=("negative", "positive"))
_add("sciq_with_support", "allenai/sciq", format_sciq_with_support,
     ("support", "question", "correct_answer", "distractor1", "distractor2", "distractor3"),
     "SciQ with its support passage and the right or a wrong answer")
