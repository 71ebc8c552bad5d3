"""Train the shipped IPTC topic model (reproducible; see README.md in this folder).

    python ops/train_topics/train.py [--data-dir ../shared/data/topics] [--out services/tagger/models]

Training data: ONLY `train_wikicep.jsonl` (Wikipedia Portal:Current events, CC BY-SA 4.0)
and `train_huffpost_partial.jsonl` (HuffPost News Category Dataset, CC BY 4.0). The BBC
and AG News files are evaluation-only and are never read here.

Needs scikit-learn (the `train` extra); the runtime (services/tagger/topics.py) needs
only numpy. Writes `topics.npz` + `topics_vocab.json` into --out and prints a report.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.tagger.topic_rules import PHRASES, lexicon_terms  # noqa: E402
from services.tagger.topics import MODEL_FILE, VOCAB_FILE, Tokenizer, document_text  # noqa: E402

TRAIN_FILES = ("train_wikicep.jsonl", "train_huffpost_partial.jsonl")
FORBIDDEN = ("bbc", "agnews", "ag_news")  # research-only evaluation sets: never train on them
MODEL_VERSION = "1"


def load_taxonomy(data_dir: Path) -> list[tuple[str, str]]:
    """The 17 top-level IPTC codes with their en-GB labels, in code order."""
    doc = json.loads((data_dir / "iptc_mediatopics.json").read_text(encoding="utf-8"))
    top = [(t["code"], t["label"]) for t in doc["topics"] if t["level"] == 1 and not t.get("retired")]
    return sorted(top)


def load_training(data_dir: Path) -> tuple[list[dict], list[int], dict[str, str]]:
    """Records of the two training corpora, the source index of each, and file hashes."""
    records: list[dict] = []
    source: list[int] = []
    hashes: dict[str, str] = {}
    for s, name in enumerate(TRAIN_FILES):
        assert not any(bad in name for bad in FORBIDDEN)
        path = data_dir / name
        raw = path.read_bytes()
        hashes[name] = hashlib.sha256(raw).hexdigest()
        for line in raw.decode("utf-8").splitlines():
            if line.strip():
                records.append(json.loads(line))
                source.append(s)
    return records, source, hashes


def lexicon_tokens(code: str, tokenize: Tokenizer, *, gap: bool = False) -> list[str]:
    """A class's lexicon as the tokenizer sees it (e.g. possessives dropped); each term must
    come out as exactly one token, else it could never match and we stop."""
    out = []
    for term in lexicon_terms(code, gap=gap):
        tokens = tokenize(term.replace("_", " "))
        if len(tokens) != 1:
            raise SystemExit(f"lexicon term {term!r} of {code} tokenizes to {tokens}")
        out.append(tokens[0])
    return sorted(set(out))


def build_vocabulary(docs: list[list[str]], min_df: int, extra: set[str]) -> tuple[list[str], np.ndarray]:
    """Terms with document frequency ≥ min_df, plus the lexicon terms; smoothed IDF."""
    df: collections.Counter[str] = collections.Counter()
    for tokens in docs:
        df.update(set(tokens))
    terms = sorted({t for t, c in df.items() if c >= min_df} | extra)
    n = len(docs)
    idf = np.array([np.log((1 + n) / (1 + df.get(t, 0))) + 1.0 for t in terms], dtype=np.float64)
    return terms, idf


def tfidf(docs: list[list[str]], index: dict[str, int], idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear TF × IDF, L2-normalised rows: the same transform as TopicClassifier."""
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for r, tokens in enumerate(docs):
        counts = collections.Counter(i for i in map(index.get, tokens) if i is not None)
        for i, c in counts.items():
            rows.append(r)
            cols.append(i)
            vals.append((1.0 + np.log(c)) * idf[i])
    x = sp.csr_matrix((vals, (rows, cols)), shape=(len(docs), len(index)), dtype=np.float64)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ x)


def fit_ovr(x: sp.csr_matrix, y: np.ndarray, weights: np.ndarray, learned: list[int], c: float,
            seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One binary logistic regression per learned class: (coef vocabulary × classes, intercepts)."""
    coef = np.zeros((x.shape[1], y.shape[1]))
    intercept = np.zeros(y.shape[1])
    for k in learned:
        clf = LogisticRegression(C=c, solver="liblinear", max_iter=1000, tol=1e-4, random_state=seed)
        clf.fit(x, y[:, k], sample_weight=weights)
        coef[:, k] = clf.coef_[0]
        intercept[k] = clf.intercept_[0]
    return coef, intercept


def decide(scores: np.ndarray, threshold: float) -> np.ndarray:
    """The run-time rule: best class always, others when score ≥ threshold."""
    chosen = scores >= threshold
    chosen[np.arange(len(scores)), scores.argmax(axis=1)] = True
    return chosen


def macro_f1(gold: np.ndarray, chosen: np.ndarray, classes: list[int]) -> float:
    f1 = []
    for k in classes:
        tp = np.sum(gold[:, k] & chosen[:, k])
        fp = np.sum(~gold[:, k] & chosen[:, k])
        fn = np.sum(gold[:, k] & ~chosen[:, k])
        f1.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(f1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data" / "topics")
    ap.add_argument("--out", type=Path, default=ROOT / "services" / "tagger" / "models")
    ap.add_argument("--min-df", type=int, default=2, help="least document frequency of a vocabulary term")
    ap.add_argument("--c", type=float, default=3.0, help="inverse L2 regularisation of each binary LR")
    ap.add_argument("--huffpost-weight", type=float, default=0.3,
                    help="sample weight of HuffPost records (portal records weigh 1)")
    ap.add_argument("--class-balance", type=float, default=0.0,
                    help="weight records by (records of their first label)^-alpha; 0 = none, 1 = balanced")
    ap.add_argument("--min-positives", type=int, default=25, help="fewer examples: lexicon-only class")
    ap.add_argument("--thin-positives", type=int, default=0,
                    help="fewer examples: the class's lexicon gets the lexicon-only weight")
    ap.add_argument("--lexicon-weight", type=float, default=5.0,
                    help="weight added to lexicon terms of learned classes (prior on top of the data)")
    ap.add_argument("--threshold", type=float, default=0.5,
                    help="least calibrated score for topics after the best one (0.5: more likely than not)")
    ap.add_argument("--folds", type=int, default=3, help="cross-validation folds for calibration")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args(argv)

    t0 = time.time()
    taxonomy = load_taxonomy(args.data_dir)
    codes = [c for c, _ in taxonomy]
    records, source, hashes = load_training(args.data_dir)
    tokenize = Tokenizer(sorted(PHRASES))
    docs = [tokenize(document_text(r.get("title"), r.get("text"), 10**9)) for r in records]
    lexicon = {code: lexicon_tokens(code, tokenize) for code in codes}
    gaps = {code: lexicon_tokens(code, tokenize, gap=True) for code in codes}
    every_term = {t for table in (lexicon, gaps) for ts in table.values() for t in ts}
    terms, idf = build_vocabulary(docs, args.min_df, every_term)
    index = {t: i for i, t in enumerate(terms)}
    x = tfidf(docs, index, idf)
    y = np.array([[code in r["labels"] for code in codes] for r in records], dtype=bool)
    source_arr = np.asarray(source)
    first = np.array([codes.index(r["labels"][0]) for r in records])
    counts = np.bincount(first, minlength=len(codes)).astype(float)
    weights = np.where(source_arr == 1, args.huffpost_weight, 1.0) * counts[first] ** -args.class_balance
    weights /= weights.mean()
    positives = y.sum(axis=0)
    learned = [k for k in range(len(codes)) if positives[k] >= args.min_positives]
    rule_only = [k for k in range(len(codes)) if k not in learned]
    print(f"{len(records)} records, vocabulary {len(terms)}, learned classes {len(learned)}, "
          f"lexicon-only: {[codes[k] for k in rule_only]}  ({time.time() - t0:.0f}s)", flush=True)

    def lexicon_matrix(table: dict[str, list[str]]) -> sp.csr_matrix:
        rows = [index[t] for code in codes for t in table[code]]
        cols = [k for k, code in enumerate(codes) for _ in table[code]]
        return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(terms), len(codes)))

    core_matrix, gap_matrix = lexicon_matrix(lexicon), lexicon_matrix(gaps)
    core_evidence = np.asarray((x @ core_matrix).todense())  # Σ x_t over each class's lexicon
    gap_evidence = np.asarray((x @ gap_matrix).todense())

    # Out-of-fold model logits (bias-free) for the lexicon weights, calibration and report.
    oof_model = np.zeros((len(records), len(codes)))
    folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=args.seed)
    for f, (tr, te) in enumerate(folds.split(x, first)):
        coef, _ = fit_ovr(x[tr], y[tr], weights[tr], learned, args.c, args.seed)
        oof_model[te] = x[te] @ coef
        print(f"fold {f + 1}/{args.folds} done ({time.time() - t0:.0f}s)", flush=True)
    coef, intercept = fit_ovr(x, y, weights, learned, args.c, args.seed)

    # Well-covered classes: their lexicon is a prior on top of the data (--lexicon-weight).
    # Lexicon-only classes, thin classes and gap lexicons: one unit of lexicon evidence is
    # worth what it is worth, in logit units, for the well-covered classes on their own
    # positives (ratio of medians of out-of-fold logit and evidence).
    covered = [k for k in learned if positives[k] >= args.thin_positives]
    oof_covered = oof_model + args.lexicon_weight * core_evidence
    pos_z = np.concatenate([oof_covered[y[:, k], k] for k in covered])
    pos_e = np.concatenate([core_evidence[y[:, k], k] for k in covered])
    rule_weight = float(np.median(pos_z) / np.median(pos_e[pos_e > 0]))
    core_weight = np.array([args.lexicon_weight if k in covered else rule_weight for k in range(len(codes))])
    # Lexicon-only logits start where a covered class's logit sits on a text without evidence.
    neg_z = np.concatenate([oof_covered[~y[:, k] & (core_evidence[:, k] == 0), k] for k in covered])
    offset = np.array([0.0 if k in learned else float(np.median(neg_z)) for k in range(len(codes))])
    oof = oof_model + core_weight * core_evidence + rule_weight * gap_evidence + offset

    lex_rows = np.concatenate([core_matrix.tocoo().row, gap_matrix.tocoo().row]).astype(np.int32)
    lex_cols = np.concatenate([core_matrix.tocoo().col, gap_matrix.tocoo().col]).astype(np.int32)
    lex_values = np.concatenate([core_weight[core_matrix.tocoo().col],
                                 np.full(gap_matrix.nnz, rule_weight)]).astype(np.float32)

    # Shared Platt scaling over all (record, learned class) pairs of the out-of-fold logits.
    z_pairs = oof[:, learned].ravel()[:, None]
    y_pairs = y[:, learned].ravel()
    platt = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000).fit(z_pairs, y_pairs)
    platt_a, platt_b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    oof_scores = 1.0 / (1.0 + np.exp(-(platt_a * oof + platt_b)))

    # The run-time rule on out-of-fold scores: best topic, plus any other ≥ threshold.
    threshold = args.threshold
    f1_by_t = {t: macro_f1(y, decide(oof_scores, t), learned) for t in (0.3, threshold, 0.7)}
    top1 = float(np.mean(y[np.arange(len(y)), oof_scores.argmax(axis=1)]))
    print(f"platt a={platt_a:.3f} b={platt_b:.3f}; lexicon-only weight {rule_weight:.2f}, offset "
          f"{offset[rule_only].round(2).tolist() if rule_only else []}", flush=True)
    print(f"out-of-fold: top-1 accuracy {top1:.4f}; macro-F1 of the topic rule by threshold: "
          + ", ".join(f"{t}: {f:.4f}" for t, f in sorted(f1_by_t.items())))

    params = {
        "version": MODEL_VERSION,
        "trained_at": time.strftime("%Y-%m-%d", time.gmtime()),
        "train_files": hashes,
        "records": len(records),
        "vocabulary": len(terms),
        "min_df": args.min_df,
        "c": args.c,
        "huffpost_weight": args.huffpost_weight,
        "class_balance": args.class_balance,
        "learned_classes": [codes[k] for k in learned],
        "lexicon_only_classes": [codes[k] for k in rule_only],
        "thin_classes": [codes[k] for k in learned if k not in covered],
        "lexicon_weight_covered": args.lexicon_weight,
        "lexicon_weight_rules": round(rule_weight, 4),
        "lexicon_terms": len(lex_rows),
        "threshold": threshold,
        "oof_top1_accuracy": round(top1, 4),
        "oof_macro_f1": round(f1_by_t[threshold], 4),
        "seed": args.seed,
        "intercepts_unused": dict(zip(codes, np.round(intercept, 4).tolist(), strict=True)),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out / MODEL_FILE,
        codes=np.array(codes),
        labels=np.array([label for _, label in taxonomy]),
        idf=idf.astype(np.float32),
        weights=coef.astype(np.float16),
        lexicon_rows=lex_rows,
        lexicon_cols=lex_cols,
        lexicon_values=lex_values,
        offset=offset.astype(np.float32),
        platt_a=np.float64(platt_a),
        platt_b=np.float64(platt_b),
        params=np.array(json.dumps(params, sort_keys=True)),
    )
    with open(args.out / VOCAB_FILE, "w", encoding="utf-8") as fh:
        json.dump(terms, fh, ensure_ascii=False, separators=(",", ":"))
    size = sum((args.out / f).stat().st_size for f in (MODEL_FILE, VOCAB_FILE))
    print(f"wrote {args.out / MODEL_FILE} and {VOCAB_FILE}: {size / 1e6:.2f} MB ({time.time() - t0:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
