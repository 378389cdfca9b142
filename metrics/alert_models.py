"""Models of issue 17 (alert); metrics.models imports them."""
