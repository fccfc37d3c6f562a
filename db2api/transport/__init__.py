"""HTTP to the target: the one session seam (http), retries, the adaptive limit, the breaker."""
