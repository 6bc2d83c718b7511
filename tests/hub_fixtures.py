"""Tiny rows in each hub source's exact schema (field names and types as the hub serves them).

Each entry: rows, and for datasets whose formatter draws the shown answer at random, the
correct answer's text and the wrong ones, so a test can check the label tells which was shown.
"""

from __future__ import annotations

SCIQ = {"question": "What gas do plants absorb?", "distractor3": "helium",
        "distractor1": "oxygen", "distractor2": "nitrogen", "correct_answer": "carbon dioxide",
        "support": "Plants take in carbon dioxide for photosynthesis."}
HH = {"chosen": "\n\nHuman: How do I bake bread?\n\nAssistant: Mix flour, water, yeast; knead, "
                "proof, bake.",
      "rejected": "\n\nHuman: How do I bake bread?\n\nAssistant: Buy some."}

ROWS: dict[str, list[dict]] = {
    "amazon_polarity": [{"label": 1, "title": "Great kettle", "content": "Boils fast."},
                        {"label": 0, "title": "Broke", "content": "Stopped after a week."}],
    "sciq": [SCIQ],
    "sciq_with_support": [SCIQ],
    "anthropic_hh": [HH],
    "anthropic_hh_pairwise": [HH],
    "anthropic_hh_pairs": [HH],
    "cosmos_qa": [{"id": "3Q9", "context": "I missed the bus.", "question": "Why was I late?",
                   "answer0": "I overslept .", "answer1": "The bus left early .",
                   "answer2": "None of the above choices .", "answer3": "It rained .",
                   "label": 1},
                  {"id": "3QA", "context": "x", "question": "y", "answer0": "a .",
                   "answer1": "b .", "answer2": "c .", "answer3": "None of the above choices .",
                   "label": 3}],
    "boolq": [{"question": "is water wet", "answer": True, "passage": "Water wets things."},
              {"question": "is fire cold", "answer": False, "passage": "Fire is hot."}],
    "anli-r2": [{"uid": "a1", "premise": "A dog runs.", "hypothesis": "An animal moves.",
                 "label": 0, "reason": ""},
                {"uid": "a2", "premise": "A dog runs.", "hypothesis": "A cat sleeps.",
                 "label": 2, "reason": ""}],
    "cola": [{"sentence": "The book was read by me.", "label": 1, "idx": 0},
             {"sentence": "Book the me read.", "label": 0, "idx": 1}],
    "dream": [{"id": 0, "dialogue_id": "5-510", "dialogue": ["M: Tea?", "W: Coffee, please."],
               "question": "What does the woman want?", "choice": ["Tea.", "Coffee.", "Milk."],
               "answer": "Coffee."}],
    "ethics-deontology": [{"label": 1, "scenario": "Can you drive me?",
                           "excuse": "No, my car is in the shop."}],
    "ethics-justice": [{"label": 0, "scenario": "I deserve a raise because I am tall."}],
    "ethics-virtue": [{"label": 1, "scenario": "He shared his lunch. [SEP] generous"}],
    "ethics-utilitarianism": [{"baseline": "I found $20.", "less_pleasant": "I lost $20."}],
    "mc_taco": [{"sentence": "He left at dawn.", "question": "When did he leave?",
                 "answer": "6 am", "label": 1, "category": "Event Ordering"}],
    "hellaswag": [{"ind": 4, "activity_label": "Baking", "ctx_a": "A man kneads dough.",
                   "ctx_b": "he", "ctx": "A man kneads dough. he",
                   "endings": ["flies away.", "puts it in the oven.", "sings.", "swims."],
                   "source_id": "x", "split": "val", "split_type": "indomain", "label": "1"}],
    "multirc": [{"paragraph": "Sam ate an apple.", "question": "What did Sam eat?",
                 "answer": "An apple", "idx": {"paragraph": 0, "question": 0, "answer": 0},
                 "label": 1}],
    "openbookqa": [{"id": "7-980", "question_stem": "The sun is a",
                    "choices": {"text": ["planet", "star", "moon", "comet"],
                                "label": ["A", "B", "C", "D"]}, "answerKey": "B"}],
    "paws": [{"id": 1, "sentence1": "He ran home.", "sentence2": "Home he ran.", "label": 1}],
    "piqa": [{"goal": "Open a jar", "sol1": "Hit it with a hammer.",
              "sol2": "Twist the lid.", "label": 1}],
    "quail": [{"id": "f001_0", "context_id": "f001", "question_id": "0", "domain": "fiction",
               "metadata": {"author": "a", "title": "t", "url": "u"}, "context": "Ann smiled.",
               "question": "How did Ann feel?", "question_type": "Causality",
               "answers": ["sad", "happy", "angry", "not enough information"],
               "correct_answer_id": 1}],
    "quartz": [{"id": "q1", "question": "More heat makes ice melt",
                "choices": {"text": ["faster", "slower"], "label": ["A", "B"]},
                "answerKey": "A", "para": "Heat melts ice.", "para_id": "p1",
                "para_anno": {}, "question_anno": {}}],
    "social_i_qa": [{"context": "Kai gave Ash a gift.", "question": "How would Ash feel?",
                     "answerA": "grateful", "answerB": "angry", "answerC": "bored",
                     "label": "1"}],
    "sst2": [{"idx": 0, "sentence": "a charming film ", "label": 1}],
    "wic": [{"word": "bank", "sentence1": "The river bank.", "sentence2": "The bank loan.",
             "start1": 10, "start2": 4, "end1": 14, "end2": 8, "idx": 0, "label": 0}],
    "twitter-sentiment": [{"text": "love this!", "label": 1}],
}

# For random-answer formatters: (correct answer, wrong answers) of the first row.
PICKS: dict[str, tuple[str, list[str]]] = {
    "sciq": ("carbon dioxide", ["oxygen", "nitrogen", "helium"]),
    "sciq_with_support": ("carbon dioxide", ["oxygen", "nitrogen", "helium"]),
    "cosmos_qa": ("The bus left early .", ["I overslept .", "None of the above choices .",
                                           "It rained ."]),
    "dream": ("Coffee.", ["Tea.", "Milk."]),
    "hellaswag": ("puts it in the oven.", ["flies away.", "sings.", "swims."]),
    "openbookqa": ("star", ["planet", "moon", "comet"]),
    "piqa": ("Twist the lid.", ["Hit it with a hammer."]),
    "quail": ("happy", ["sad", "angry", "not enough information"]),
    "quartz": ("faster", ["slower"]),
    "social_i_qa": ("grateful", ["angry", "bored"]),
}

# For deterministic formatters: the exact text and label of the first row.
EXACT: dict[str, tuple[str, int]] = {
    "amazon_polarity": ("Great kettle Boils fast.", 1),
    "boolq": ("Passage: Water wets things.\nQuestion: is water wet", 1),
    "anli-r2": ("Premise: A dog runs.\nHypothesis: An animal moves.\n\nDoes the premise entail "
                "the hypothesis?", 1),
    "cola": ("The book was read by me.", 1),
    "ethics-deontology": ("Q: Is the following a morally valid excuse?\n\nCan you drive me?"
                          "\n\nNo, my car is in the shop.\n\nA:", 1),
    "ethics-justice": ("Q: Does this statement exemplify justice?\n\nI deserve a raise because "
                       "I am tall.\n\nA:", 0),
    "ethics-virtue": ("Q: Does this behavior match the adjective that follows?\n\nHe shared "
                      "his lunch. [SEP] generous\n\nA:", 1),
    "mc_taco": ("He left at dawn.\n\nGiven the above, When did he leave? Is the answer 6 am?",
                1),
    "multirc": ('Passage:\n\nSam ate an apple.\n\nQ: "What did Sam eat?" Is the answer '
                '"An apple"?', 1),
    "paws": ("Sent 1: He ran home.\nSent 2: Home he ran.\n\nQ: Are these sentences "
             "semantically equivalent?", 1),
    "sst2": ("a charming film ", 1),
    "wic": ('Sentence 1:\nThe river bank.\n\nSentence 2:\nThe bank loan.\n\nQ: Does "bank" '
            'have the same meaning in the above sentences?', 0),
    "twitter-sentiment": ("love this!", 1),
}


SCIQ_ANSWERS = ["carbon dioxide", "oxygen", "nitrogen", "helium", "water", "iron", "light",
                "heat"]


def sciq_rows(n: int, seed: int) -> list[dict]:
    """``n`` distinct SciQ-schema rows (for end-to-end runs on a mirror)."""
    import random

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        answers = rng.sample(SCIQ_ANSWERS, 4)
        rows.append({"question": f"Question {seed}.{i}: what does sample {rng.randint(0, 99)} "
                                 "need?", "correct_answer": answers[0],
                     "distractor1": answers[1], "distractor2": answers[2],
                     "distractor3": answers[3], "support": ""})
    return rows
