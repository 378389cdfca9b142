"""Models of issue 17 (review); metrics.models imports them."""
