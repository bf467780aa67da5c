"""A panel of judges scored against human labels like any judge (eval_judge --panel majority).

Each judge's final verdict on a pair (both orders combined by FastChat's rule, as its own row is scored;
with --invalid-as tie a missing verdict is a tie first) is a vote; the panel's verdict is the one more than
half of the judges with a verdict gave, else a tie (show_result's ``majority``, results/panel.py). A pair no
judge has a verdict on gets none. The panel is one more row of predictions with one order, so every metric
that needs both orders (position consistency) is left blank for it.
"""
from __future__ import annotations

from typing import Sequence

from ..errors import ConfigError
from ..stats import strict_majority
from .metrics import final_verdict, resolved
from .pairs import TIE
from .predictions import Predictions


def panel_predictions(judges: Sequence[Predictions], invalid_as_tie: bool = False) -> Predictions:
    """The majority of ``judges``' final verdicts per pair, as one judge named ``panel(a+b+c)``."""
    if len(judges) < 2:
        raise ConfigError(f"--panel combines several judges; got {len(judges)} (give two or more --pred, or "
                          "--pred beside run)")
    panel = Predictions(f"panel({'+'.join(p.name for p in judges)})", 1)
    for pair_id in dict.fromkeys(i for p in judges for i in p.verdicts):
        votes = [final_verdict(resolved(p.verdicts[pair_id], invalid_as_tie)) for p in judges if pair_id in p.verdicts]
        winner = strict_majority(v for v in votes if v is not None)
        panel.verdicts[pair_id] = (TIE if winner == "tie" else winner,)  # type: ignore[assignment]
    return panel
