"""Loopdesk's Python side: the intent-classifier trainer, its data snapshots and the model-store builders.

Everything here runs offline. huggingface_hub reads these variables once, when it is first imported, and
this package is imported before any of its modules, so they hold whatever a module imports in which order.
"""

import os

# Never reach for a model hub, whatever the caller's environment says.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
