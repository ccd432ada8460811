"""What the service tells its operators: metrics (per worker and summed), traces, logs, ids."""
