"""Pure functions of stored samples: metrics, statistics, comparisons against a baseline, gates, leaderboards."""
