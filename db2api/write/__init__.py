"""Sending: reaching the target and signing in (reach), a run that sends nothing (dryrun)."""
