"""Anchors for bench/train.ts: scikit-learn and XGBoost on the same data and folds.

Usage: train_anchors.py cv INPUT.json          -> JSON: per-model per-fold AUC on IBM folds
       train_anchors.py speed BIN ROWS COLS     -> JSON: XGBoost hist fit/predict time and peak RSS
Runs on Debian's python3 (/usr/bin/python3) with python3-sklearn and python3-xgboost.
"""
import json
import resource
import sys
import time

import numpy as np


def peak_rss_mb():
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def encode(columns):
    """Numerics: mean-imputed and standardised; categoricals: one-hot (missing = all zeros)."""
    onehot, ordinal, is_cat = [], [], []
    for col in columns:
        if col["kind"] == "numeric":
            v = np.array([np.nan if x is None else x for x in col["values"]], dtype=float)
            ordinal.append(v)
            is_cat.append(False)
            mean = np.nanmean(v)
            std = np.nanstd(v) or 1.0
            filled = np.where(np.isnan(v), mean, v)
            onehot.append(((filled - mean) / std)[:, None])
        else:
            codes = np.array(col["codes"], dtype=int)
            ordinal.append(np.where(codes < 0, np.nan, codes).astype(float))
            is_cat.append(True)
            k = len(col["categories"])
            m = np.zeros((len(codes), k))
            ok = codes >= 0
            m[np.arange(len(codes))[ok], codes[ok]] = 1.0
            onehot.append(m)
    return np.hstack(onehot), np.column_stack(ordinal), np.array(is_cat)


def cv(path):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    import xgboost as xgb

    doc = json.load(open(path))
    y = np.array(doc["label"], dtype=int)
    fold = np.array(doc["fold"], dtype=int)
    x_onehot, x_ordinal, is_cat = encode(doc["columns"])
    models = {
        "sklearn_logreg": lambda: LogisticRegression(C=1.0, max_iter=2000),
        "xgboost_hist": lambda: xgb.XGBClassifier(
            n_estimators=300, max_depth=4, learning_rate=0.05, tree_method="hist", n_jobs=1, random_state=0
        ),
        "sklearn_hist_gbdt": lambda: HistGradientBoostingClassifier(categorical_features=is_cat, random_state=0),
    }
    out = {}
    for name, make in models.items():
        x = x_ordinal if name == "sklearn_hist_gbdt" else x_onehot
        aucs = []
        started = time.perf_counter()
        for f in sorted(set(fold.tolist())):
            tr, te = fold != f, fold == f
            model = make().fit(x[tr], y[tr])
            aucs.append(float(roc_auc_score(y[te], model.predict_proba(x[te])[:, 1])))
        out[name] = {"fold_auc": aucs, "seconds": time.perf_counter() - started}
    print(json.dumps(out))


def speed(path, rows, cols):
    import xgboost as xgb

    data = np.fromfile(path, dtype=np.float32).reshape(rows, cols + 1)
    x, y = data[:, :cols], data[:, cols]
    loaded_mb = peak_rss_mb()
    model = xgb.XGBClassifier(
        n_estimators=300, max_depth=4, learning_rate=0.05, tree_method="hist", max_bin=255, n_jobs=2, random_state=0
    )
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(x, y)
    fit_s = time.perf_counter() - t0
    fit_cpu_s = time.process_time() - c0
    t0 = time.perf_counter()
    p = model.predict_proba(x)[:, 1]
    predict_s = time.perf_counter() - t0
    from sklearn.metrics import roc_auc_score

    print(
        json.dumps(
            {
                "fit_seconds": fit_s,
                "fit_cpu_seconds": fit_cpu_s,
                "predict_seconds": predict_s,
                "predict_rows_per_s": rows / predict_s,
                "train_auc": float(roc_auc_score(y, p)),
                "peak_rss_mb_after_load": loaded_mb,
                "peak_rss_mb": peak_rss_mb(),
                "xgboost_version": xgb.__version__,
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1] == "cv":
        cv(sys.argv[2])
    else:
        speed(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
