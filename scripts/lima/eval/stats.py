"""The statistics behind every judged share in the report (docs/evaluation.md#statistics).

- A share (win, tie, loss, and the paper's "equal or preferred" = win + tie) gets an exact two-sided
  95% binomial interval (Clopper-Pearson, scipy's `binomtest`): the prompts are the sample, n the
  parseable verdicts.
- The length-controlled win rate is AlpacaEval 2.0's idea: a logistic model of the outcome (win 1,
  tie 0.5, loss 0) on tanh of the standardised length difference (ours minus theirs, in words,
  divided by the standard deviation of that difference), read off at zero difference, so a judge's
  taste for longer answers is taken out. Fitted by maximum likelihood with scipy's L-BFGS-B and a weak
  ridge penalty on the slope (a judge that always picks the longer answer would otherwise push the
  slope to infinity); its 95% interval is sigmoid(a ± 1.96 se(a)), se from the penalised Hessian.
- The share of decisive verdicts (no tie) that went to the longer response.
"""
from __future__ import annotations

import math

import numpy as np

OUTCOME = {"win": 1.0, "tie": 0.5, "loss": 0.0}
RIDGE = 0.1              # L2 penalty on the slope, in log-likelihood units (the intercept is free)


def binom_ci(k: int, n: int) -> tuple[float, float] | None:
    """Exact (Clopper-Pearson) two-sided 95% interval of k successes in n, as percentages."""
    if not n:
        return None
    from scipy.stats import binomtest
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="exact")
    return round(100 * ci.low, 1), round(100 * ci.high, 1)


def share_ci(counts: dict) -> dict:
    """{win, tie, loss, equal_or_preferred: {"k", "n", "percent", "ci95"}} from win/tie/loss counts."""
    c = {k: int(counts.get(k) or 0) for k in ("win", "tie", "loss")}
    c["equal_or_preferred"] = c["win"] + c["tie"]
    n = c["win"] + c["tie"] + c["loss"]
    return {k: {"k": v, "n": n, "percent": round(100 * v / n, 1) if n else None, "ci95": binom_ci(v, n)}
            for k, v in c.items()}


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(a, b) of logit P(win) = a + b * x, y in [0, 1] (ties 0.5), by maximum likelihood with a ridge on
    b (scipy's L-BFGS-B), and the covariance of (a, b) from the penalised Hessian at the optimum."""
    from scipy.optimize import minimize

    def loss(theta):
        z = theta[0] + theta[1] * x
        nll = np.sum(np.logaddexp(0.0, z) - y * z)       # -log-likelihood of fractional outcomes
        g = 1.0 / (1.0 + np.exp(-z)) - y
        return nll + RIDGE * theta[1] ** 2, np.array([g.sum(), (g * x).sum() + 2 * RIDGE * theta[1]])

    res = minimize(loss, np.zeros(2), jac=True, method="L-BFGS-B", bounds=[(-20, 20), (-20, 20)])
    if not (res.success or res.status == 0):
        return None
    p = 1.0 / (1.0 + np.exp(-(res.x[0] + res.x[1] * x)))
    w = p * (1 - p)
    hess = np.array([[w.sum(), (w * x).sum()], [(w * x).sum(), (w * x * x).sum() + 2 * RIDGE]])
    return res.x, np.linalg.pinv(hess)


def _sigmoid(a: float) -> float:
    from scipy.special import expit
    return 100.0 * float(expit(a))


def length_controlled(outcomes: list[str], ours_len: list[float], theirs_len: list[float]) -> dict:
    """The length-controlled win rate (%, ties half a win): the model's prediction at zero length
    difference, sigmoid(a), with a 95% interval sigmoid(a ± 1.96 se(a)) (se from the Hessian), and the
    raw rate on the same items for comparison. Items whose verdict is None are left out."""
    rows = [(OUTCOME[o], a - b) for o, a, b in zip(outcomes, ours_len, theirs_len) if o in OUTCOME]
    n = len(rows)
    if n < 2:
        return {"n": n, "percent": None, "ci95": None, "raw_percent": None}
    y = np.array([r[0] for r in rows])
    diff = np.array([r[1] for r in rows], dtype=float)
    sd = float(np.std(diff))
    x = np.tanh(diff / sd) if sd > 0 else np.zeros_like(diff)
    fit = _fit(x, y)
    if fit is None:
        return {"n": n, "percent": None, "ci95": None, "raw_percent": round(100 * float(y.mean()), 1)}
    theta, cov = fit
    se = math.sqrt(max(float(cov[0, 0]), 0.0))
    a = float(theta[0])
    return {"n": n, "percent": round(_sigmoid(a), 1),
            "ci95": (round(_sigmoid(a - 1.96 * se), 1), round(_sigmoid(a + 1.96 * se), 1)),
            "raw_percent": round(100 * float(y.mean()), 1), "slope": round(float(theta[1]), 3)}


def longer_preferred(outcomes: list[str], ours_len: list[float], theirs_len: list[float]) -> dict:
    """Of the decisive verdicts (win or loss) between responses of different length, the share that
    went to the longer response, with its exact interval."""
    decisive = [(o == "win") == (a > b) for o, a, b in zip(outcomes, ours_len, theirs_len)
                if o in ("win", "loss") and a != b]
    k, n = sum(decisive), len(decisive)
    return {"k": k, "n": n, "percent": round(100 * k / n, 1) if n else None, "ci95": binom_ci(k, n)}


def mean(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 1) if values else None


def fmt_ci(entry: dict | None, digits: int = 0) -> str:
    """"43 [37-49]" for {"percent", "ci95"}; "n/a" when empty."""
    if not entry or entry.get("percent") is None:
        return "n/a"
    ci = entry.get("ci95")
    p = f"{entry['percent']:.{digits}f}"
    return f"{p} [{ci[0]:.{digits}f}-{ci[1]:.{digits}f}]" if ci else p
