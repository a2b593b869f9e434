"""arq jobs: the worker settings, job functions and cron jobs."""
