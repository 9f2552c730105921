from promptlearn.store.store import Store, default_url

__all__ = ["Store", "default_url"]
