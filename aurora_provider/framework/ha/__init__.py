"""High availability: replicas elect a leader in ZooKeeper; only the leader runs the
scheduler, and the store's fence (``storage/leadership.py``) refuses a deposed one's writes."""
