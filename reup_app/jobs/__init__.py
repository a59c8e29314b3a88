"""Background jobs: an APScheduler worker process (`reup worker`) running housekeeping jobs,
each guarded by a Redis lock so several workers never run the same slot twice."""
