"""Step 3: aggregation of judgments into scores, win rates, ratings and position bias; tables, plots, browser."""
