"""WeCom self-built app: members acknowledge alerts by replying in the app (see `callback`)."""
